using System.Buffers;
using System.IO.Compression;

namespace Hyperion.Internal.Http;

/// <summary>
/// A streaming content encoder writing into a buffer: <see cref="Write"/> as data arrives, <see cref="Flush"/>
/// so that everything written so far can be decoded by the client (gzip: zlib's sync flush; Brotli: BROTLI_OPERATION_FLUSH),
/// <see cref="Finish"/> once at the end.
/// </summary>
internal abstract class ContentEncoder : IDisposable
{
    public static ContentEncoder Create(ContentCoding coding, CompressionLevel level) => coding switch
    {
        ContentCoding.Gzip => new GzipEncoder(level),
        ContentCoding.Brotli => new BrotliContentEncoder(level),
        _ => throw new ArgumentOutOfRangeException(nameof(coding), coding, "Identity needs no encoder."),
    };

    /// <summary>The whole of <paramref name="content"/> encoded in one go.</summary>
    public static byte[] Encode(ContentCoding coding, CompressionLevel level, ReadOnlySpan<byte> content)
    {
        var output = new ArrayBufferWriter<byte>(Math.Max(64, content.Length / 2));
        using var encoder = Create(coding, level);
        encoder.Write(content, output);
        encoder.Finish(output);
        return output.WrittenSpan.ToArray();
    }

    public abstract void Write(ReadOnlySpan<byte> data, IBufferWriter<byte> output);

    public abstract void Flush(IBufferWriter<byte> output);

    public abstract void Finish(IBufferWriter<byte> output);

    public abstract void Dispose();

    private sealed class GzipEncoder : ContentEncoder
    {
        private readonly BufferWriterStream _sink = new();
        private readonly GZipStream _gzip;
        private bool _finished;

        public GzipEncoder(CompressionLevel level) => _gzip = new GZipStream(_sink, level, leaveOpen: true);

        public override void Write(ReadOnlySpan<byte> data, IBufferWriter<byte> output)
        {
            _sink.Target = output;
            _gzip.Write(data);
        }

        public override void Flush(IBufferWriter<byte> output)
        {
            // DeflateStream.Flush is a Z_SYNC_FLUSH: the output ends on a byte boundary and decodes up to here.
            _sink.Target = output;
            _gzip.Flush();
        }

        public override void Finish(IBufferWriter<byte> output)
        {
            _sink.Target = output;
            _finished = true;
            _gzip.Dispose();
        }

        public override void Dispose()
        {
            if (!_finished)
            {
                // Abandoned mid-body: nothing more goes to the client.
                _sink.Target = null;
                _finished = true;
                _gzip.Dispose();
            }
        }
    }

    private sealed class BrotliContentEncoder(CompressionLevel level) : ContentEncoder
    {
        // Quality by level: what BrotliStream uses for Optimal is 4; 11 is the format's best; window 22 (4 MiB) its default.
        private BrotliEncoder _encoder = new(level switch
        {
            CompressionLevel.NoCompression => 0,
            CompressionLevel.Fastest => 1,
            CompressionLevel.SmallestSize => 11,
            _ => 4,
        }, 22);

        public override void Write(ReadOnlySpan<byte> data, IBufferWriter<byte> output)
        {
            while (true)
            {
                var status = _encoder.Compress(data, output.GetSpan(Hint(data.Length)), out int consumed, out int written, isFinalBlock: false);
                output.Advance(written);
                data = data[consumed..];
                if (status == OperationStatus.Done && data.IsEmpty)
                {
                    return;
                }

                ThrowIfFailed(status);
            }
        }

        public override void Flush(IBufferWriter<byte> output)
        {
            OperationStatus status;
            do
            {
                status = _encoder.Flush(output.GetSpan(Hint(0)), out int written);
                output.Advance(written);
                ThrowIfFailed(status);
            }
            while (status != OperationStatus.Done);
        }

        public override void Finish(IBufferWriter<byte> output)
        {
            OperationStatus status;
            do
            {
                status = _encoder.Compress(default, output.GetSpan(Hint(0)), out _, out int written, isFinalBlock: true);
                output.Advance(written);
                ThrowIfFailed(status);
            }
            while (status != OperationStatus.Done);
        }

        public override void Dispose() => _encoder.Dispose();

        private static int Hint(int input) => Math.Clamp(input + (input >> 3) + 64, 256, 64 * 1024);

        private static void ThrowIfFailed(OperationStatus status)
        {
            if (status is OperationStatus.InvalidData or OperationStatus.NeedMoreData)
            {
                throw new InvalidOperationException("The Brotli encoder failed: " + status);
            }
        }
    }

    /// <summary>The stream GZipStream writes to: appends into the current target buffer.</summary>
    private sealed class BufferWriterStream : Stream
    {
        public IBufferWriter<byte>? Target { get; set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Target is { } target)
            {
                target.Write(buffer);
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
