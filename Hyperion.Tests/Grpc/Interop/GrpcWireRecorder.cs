using System.Collections.Concurrent;

namespace Hyperion.Tests.Grpc.Interop;

/// <summary>
/// A handler under Grpc.Net.Client that watches each response body go by and records, per call, the Compressed-Flag of
/// every length-prefixed message the server sent, and its length (PROTOCOL-HTTP2.md, Length-Prefixed-Message: one flag byte, a 4-byte
/// big-endian length, the message). Grpc.Net.Client decompresses without saying whether it had to, so the
/// server_compressed_* cases read the flags here. The bytes pass through unchanged and unbuffered.
/// </summary>
public sealed class GrpcWireRecorder : DelegatingHandler
{
    private readonly ConcurrentQueue<RecordedCall> _calls = new();

    public GrpcWireRecorder(HttpMessageHandler inner)
        : base(inner)
    {
    }

    /// <summary>Every call so far, in the order their responses began.</summary>
    public IReadOnlyList<RecordedCall> Calls => [.. _calls];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        var call = new RecordedCall(request.RequestUri!.AbsolutePath);
        _calls.Enqueue(call);
        response.Content = new ObservedContent(response.Content, call);
        return response;
    }

    /// <summary>One call's response messages as they were framed on the wire.</summary>
    public sealed class RecordedCall(string path)
    {
        private readonly List<bool> _compressedFlags = [];
        private readonly List<uint> _lengths = [];

        public string Path { get; } = path;

        /// <summary>The Compressed-Flag of each response message, in order.</summary>
        public IReadOnlyList<bool> CompressedFlags
        {
            get
            {
                lock (_compressedFlags)
                {
                    return [.. _compressedFlags];
                }
            }
        }

        /// <summary>The Message-Length of each response message (as sent, so compressed when the flag is set), in order.</summary>
        public IReadOnlyList<uint> Lengths
        {
            get
            {
                lock (_compressedFlags)
                {
                    return [.. _lengths];
                }
            }
        }

        internal void Add(bool compressed, uint length)
        {
            lock (_compressedFlags)
            {
                _compressedFlags.Add(compressed);
                _lengths.Add(length);
            }
        }
    }

    // The response content, read through an ObservingStream opened when the client first reads it.
    private sealed class ObservedContent : HttpContent
    {
        private readonly HttpContent _inner;
        private readonly RecordedCall _call;

        public ObservedContent(HttpContent inner, RecordedCall call)
        {
            _inner = inner;
            _call = call;
            foreach (var header in inner.Headers)
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        protected override async Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken)
            => new ObservingStream(await _inner.ReadAsStreamAsync(cancellationToken), _call);

        protected override Task<Stream> CreateContentReadStreamAsync() => CreateContentReadStreamAsync(CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            await using var body = await CreateContentReadStreamAsync();
            await body.CopyToAsync(stream);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    // Parses the prefixes as reads pass through: 5 prefix bytes, then the message's length skipped.
    private sealed class ObservingStream(Stream inner, RecordedCall call) : Stream
    {
        private readonly byte[] _prefix = new byte[5];
        private int _prefixFilled;
        private long _messageLeft;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int n = await inner.ReadAsync(buffer, cancellationToken);
            Observe(buffer.Span[..n]);
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = inner.Read(buffer, offset, count);
            Observe(buffer.AsSpan(offset, n));
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private void Observe(ReadOnlySpan<byte> data)
        {
            while (!data.IsEmpty)
            {
                if (_messageLeft > 0)
                {
                    int skip = (int)Math.Min(_messageLeft, data.Length);
                    _messageLeft -= skip;
                    data = data[skip..];
                    continue;
                }

                int take = Math.Min(5 - _prefixFilled, data.Length);
                data[..take].CopyTo(_prefix.AsSpan(_prefixFilled));
                _prefixFilled += take;
                data = data[take..];
                if (_prefixFilled == 5)
                {
                    _messageLeft = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(_prefix.AsSpan(1));
                    call.Add(_prefix[0] == 1, (uint)_messageLeft);
                    _prefixFilled = 0;
                }
            }
        }
    }
}
