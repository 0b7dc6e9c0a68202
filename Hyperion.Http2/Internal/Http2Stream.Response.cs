using System.Buffers;
using System.Globalization;
using System.Text;
using Hyperion.Http2.Hpack;
using Hyperion.Internal.Dispatch;
using Hyperion.Internal.Http;
using Hyperion.Internal.Http1;
using Hyperion.Internal.Infrastructure;
using Hyperion.Internal.Routing;

namespace Hyperion.Http2.Internal;

/// <summary>Responses over HTTP/2: HEADERS (HPACK), DATA within the flow-control windows, trailers as a final HEADERS.</summary>
internal sealed partial class Http2Stream
{
    private const int FlushThreshold = 64 * 1024;

    private bool _isHead;
    private bool _headersSent;
    private bool _ended;
    private long _unflushed;
    private Http2BodyWriter? _bodyWriter;
    private byte[]? _json;
    private int _jsonLength;

    private async ValueTask WriteSimpleAsync(int status)
    {
        await WriteHeadersAsync(RackResponse.Empty(status), contentLength: 0, endStream: true).ConfigureAwait(false);
        await FlushIfNeededAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// A static route: its header block was encoded once (static table and literals only, so it is valid on any
    /// connection whatever its dynamic table holds); only Date goes through this connection's encoder.
    /// </summary>
    private async ValueTask WriteStaticAsync(StaticVariant entry)
    {
        var block = entry.Http2HeaderBlock ??= BuildStaticBlock(entry, _connection.Server.Options.ServerHeader);
        var body = _isHead ? ReadOnlyMemory<byte>.Empty : entry.Body;
        await _connection.EnterWriteAsync().ConfigureAwait(false);
        try
        {
            ThrowIfAborted();
            _connection.DrainControl();
            var w = _connection.HeaderScratch;
            _connection.Encoder.BeginBlock(w);
            w.Write(block);
            _connection.Encoder.EncodeHeader(w, "date"u8, _connection.Server.Date.Current);
            _connection.WriteHeaderBlock(Id, endStream: body.IsEmpty);
            _headersSent = true;
            SetEnded(body.IsEmpty);
        }
        finally
        {
            _connection.ExitWrite();
        }

        if (!body.IsEmpty)
        {
            await SendDataAsync(body, endStream: true).ConfigureAwait(false);
        }

        await FlushIfNeededAsync().ConfigureAwait(false);
    }

    private static byte[] BuildStaticBlock(StaticVariant entry, string? serverHeader)
    {
        var encoder = new HpackEncoder { Indexing = HpackIndexing.None };
        var w = new ArrayBufferWriter<byte>(128);
        var response = entry.Response;
        encoder.EncodeStatus(w, response.Status);
        if (!StatusLines.ForbidsBody(response.Status))
        {
            EncodeField(encoder, w, "content-type", response.ContentType!);
            EncodeField(encoder, w, "content-length", entry.Body.Length.ToString(CultureInfo.InvariantCulture));
        }

        foreach (var (name, value) in response.Headers)
        {
            EncodeField(encoder, w, name, value);
        }

        if (serverHeader is not null)
        {
            EncodeField(encoder, w, "server", serverHeader);
        }

        return w.WrittenSpan.ToArray();
    }

    private async ValueTask WriteResponseAsync(RackResponse response)
    {
        if (response.IsDefault)
        {
            throw new InvalidOperationException("The app returned a default RackResponse; build one with a constructor or factory.");
        }

        long declared = ScanHeaders(response);
        int status = response.Status;
        bool noBody = _isHead || StatusLines.ForbidsBody(status);
        var trailers = noBody ? null : response.Trailers;
        bool hasTrailers = trailers is { Count: > 0 };
        switch (response.BodyKind)
        {
            case ResponseBodyKind.Json when !noBody:
            {
                // Serialized where the route's code runs, straight into its DATA frame (see WriteJsonInPlace).
                await RequestDispatcher.InvokeBodyAsync(_connection.Server, Env, static s => s.Stream.WriteJsonInPlaceAsync(s.Response, s.Declared, s.HasTrailers), (Stream: this, Response: response, Declared: declared, HasTrailers: hasTrailers)).ConfigureAwait(false);
                var rest = _json;
                _json = null;
                try
                {
                    if (rest is not null)
                    {
                        await SendDataAsync(rest.AsMemory(0, _jsonLength), endStream: !hasTrailers).ConfigureAwait(false);
                    }

                    if (hasTrailers)
                    {
                        await WriteTrailersAsync(trailers!).ConfigureAwait(false);
                    }
                }
                finally
                {
                    if (rest is { Length: > 0 })
                    {
                        ArrayPool<byte>.Shared.Return(rest);
                    }
                }

                break;
            }

            case ResponseBodyKind.Bytes:
            case ResponseBodyKind.Text:
            case ResponseBodyKind.Json:
            {
                ReadOnlyMemory<byte> body;
                byte[]? json = null;
                if (response.BodyKind == ResponseBodyKind.Json)
                {
                    if (!StatusLines.ForbidsBody(status))
                    {
                        // HEAD: serialized (where the route's code runs) for its length only.
                        await RequestDispatcher.InvokeBodyAsync(_connection.Server, Env, static s =>
                        {
                            s.Stream._json = ((JsonBody)s.Response.BodyObject!).SerializePooled(out s.Stream._jsonLength);
                            return default;
                        }, (Stream: this, Response: response)).ConfigureAwait(false);
                        json = _json;
                        _json = null;
                    }

                    body = json is null ? default : json.AsMemory(0, _jsonLength);
                }
                else
                {
                    body = response.BodyKind == ResponseBodyKind.Bytes ? response.BytesBody : Encoding.UTF8.GetBytes(response.TextBody!);
                }

                try
                {
                    DeclaredLength.Check(declared, body.Length);

                    bool endWithHeaders = noBody || (body.IsEmpty && !hasTrailers);
                    await WriteHeadersAsync(response, body.Length, endWithHeaders).ConfigureAwait(false);
                    if (!endWithHeaders)
                    {
                        await SendDataAsync(body, endStream: !hasTrailers).ConfigureAwait(false);
                        if (hasTrailers)
                        {
                            await WriteTrailersAsync(trailers!).ConfigureAwait(false);
                        }
                    }
                }
                finally
                {
                    if (json is { Length: > 0 })
                    {
                        ArrayPool<byte>.Shared.Return(json);
                    }
                }

                break;
            }

            case ResponseBodyKind.File:
            {
                // DATA frames carry the body (sendfile does not apply), but the length still comes from the opened file.
                using var file = FileBody.Open(response);
                if (file is null)
                {
                    _connection.Server.Log.FileMissing(Path.GetFullPath(FileBody.PathOf(response)));
                    await WriteResponseAsync(RackResponse.Empty(404)).ConfigureAwait(false);
                    return;
                }

                await WriteHeadersAsync(response, file.Length, noBody).ConfigureAwait(false);
                if (!noBody)
                {
                    await WriteFileAsync(file).ConfigureAwait(false);
                    await EndBodyAsync(trailers).ConfigureAwait(false);
                }

                break;
            }

            case ResponseBodyKind.Streaming when response.HeadersOnFirstWrite && !noBody:
            {
                // The body's first write or flush sends the head; a body that sent nothing ends as one HEADERS frame
                // holding headers and trailers (gRPC Trailers-Only, PROTOCOL-HTTP2.md).
                var writer = _bodyWriter ??= new Http2BodyWriter(this);
                writer.Begin(declared, trailers, deferred: response);
                await WriteStreamedBodyAsync(response, writer).ConfigureAwait(false);
                writer.CheckLength();
                if (!_headersSent)
                {
                    await WriteHeadersAsync(response, declared, endStream: true, writer.Trailers).ConfigureAwait(false);
                }
                else
                {
                    await EndBodyAsync(writer.Trailers).ConfigureAwait(false);
                }

                break;
            }

            default:
                await WriteHeadersAsync(response, declared, noBody).ConfigureAwait(false);
                if (!noBody)
                {
                    var writer = _bodyWriter ??= new Http2BodyWriter(this);
                    writer.Begin(declared, trailers);
                    await WriteStreamedBodyAsync(response, writer).ConfigureAwait(false);
                    writer.CheckLength();
                    await EndBodyAsync(writer.Trailers).ConfigureAwait(false);
                }

                break;
        }

        await FlushIfNeededAsync().ConfigureAwait(false);
    }

    private async ValueTask WriteStreamedBodyAsync(RackResponse response, Http2BodyWriter writer)
    {
        switch (response.BodyKind)
        {
            case ResponseBodyKind.Chunks:
                foreach (var chunk in (IEnumerable<ReadOnlyMemory<byte>>)response.BodyObject!)
                {
                    await writer.WriteAsync(chunk).ConfigureAwait(false);
                }

                break;
            case ResponseBodyKind.AsyncChunks:
                await foreach (var chunk in ((IAsyncEnumerable<ReadOnlyMemory<byte>>)response.BodyObject!).WithCancellation(_aborted.Token).ConfigureAwait(false))
                {
                    await writer.WriteAsync(chunk).ConfigureAwait(false);
                    await writer.FlushAsync().ConfigureAwait(false);
                }

                break;
            case ResponseBodyKind.Streaming:
                await RequestDispatcher.InvokeBodyAsync(_connection.Server, Env, (Func<ResponseBodyWriter, ValueTask>)response.BodyObject!, writer).ConfigureAwait(false);
                break;
        }
    }

    private async ValueTask WriteFileAsync(FileBody file)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            int n;
            while ((n = await file.ReadAsync(buffer, _aborted.Token).ConfigureAwait(false)) > 0)
            {
                await SendDataAsync(buffer.AsMemory(0, n), endStream: false).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private ValueTask EndBodyAsync(IReadOnlyList<(string Name, string Value)>? trailers)
        => trailers is { Count: > 0 } ? WriteTrailersAsync(trailers) : SendDataAsync(ReadOnlyMemory<byte>.Empty, endStream: true);

    /// <summary>Checks names and values and returns the Content-Length header's value, or -1.</summary>
    private static long ScanHeaders(in RackResponse response)
    {
        long declared = -1;
        if (response.ContentType is { } ct && !HeaderValidation.IsValidValue(ct))
        {
            throw new InvalidOperationException("The response's content type contains a character not allowed in a header value; refused.");
        }

        // Index loops here: enumerating an array or list through IReadOnlyList allocates an enumerator per response.
        var headers = response.Headers;
        for (int i = 0; i < headers.Count; i++)
        {
            var (name, value) = headers[i];
            if (!HeaderValidation.IsValidName(name) || value is null || !HeaderValidation.IsValidValue(value))
            {
                throw new InvalidOperationException($"Response header '{name?.ReplaceLineEndings(" ")}' has an invalid name or value.");
            }

            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
                && !long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out declared))
            {
                throw new InvalidOperationException($"The response's Content-Length header '{value}' is not a number.");
            }
        }

        if (response.Trailers is { } trailers)
        {
            for (int i = 0; i < trailers.Count; i++)
            {
                var (name, value) = trailers[i];
                if (!HeaderValidation.IsValidName(name) || value is null || !HeaderValidation.IsValidValue(value))
                {
                    throw new InvalidOperationException($"Response trailer '{name?.ReplaceLineEndings(" ")}' has an invalid name or value.");
                }
            }
        }

        return declared;
    }

    /// <summary>RFC 9113 §8.2.2: fields that only mean something to an HTTP/1.1 connection are not sent; nor is the app's
    /// Content-Length, which we write from the body ourselves.</summary>
    private static bool IsConnectionSpecific(string name)
        => HeaderValidation.IsConnectionSpecific(name) || (name.Length == 14 && name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase));

    private async ValueTask WriteHeadersAsync(RackResponse response, long contentLength, bool endStream, IReadOnlyList<(string Name, string Value)>? trailers = null)
    {
        await _connection.EnterWriteAsync().ConfigureAwait(false);
        try
        {
            ThrowIfAborted();
            _connection.DrainControl();
            EncodeHead(response, contentLength, trailers);
            _connection.WriteHeaderBlock(Id, endStream);
            _headersSent = true;
            SetEnded(endStream);
        }
        finally
        {
            _connection.ExitWrite();
        }
    }

    /// <summary>Under the gate: the response's header block into the connection's scratch (HPACK state changes here).</summary>
    private void EncodeHead(in RackResponse response, long contentLength, IReadOnlyList<(string Name, string Value)>? trailers)
    {
        var w = _connection.HeaderScratch;
        var encoder = _connection.Encoder;
        encoder.BeginBlock(w);
        int status = response.Status;
        encoder.EncodeStatus(w, status);
        bool forbidsBody = StatusLines.ForbidsBody(status);
        bool hasContentType = false;
        bool hasServer = false;
        bool hasDate = false;
        var headers = response.Headers;
        for (int i = 0; i < headers.Count; i++)
        {
            var (name, value) = headers[i];
            if (IsConnectionSpecific(name))
            {
                continue;
            }

            hasContentType |= name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase);
            hasServer |= name.Equals("Server", StringComparison.OrdinalIgnoreCase);
            hasDate |= name.Equals("Date", StringComparison.OrdinalIgnoreCase);
            EncodeField(w, name, value);
        }

        if (response.ContentType is { } contentType && !hasContentType && !forbidsBody)
        {
            EncodeField(w, "content-type", contentType);
        }

        if (contentLength >= 0 && !forbidsBody)
        {
            Span<byte> digits = stackalloc byte[20];
            contentLength.TryFormat(digits, out int n, provider: CultureInfo.InvariantCulture);
            encoder.EncodeHeader(w, "content-length"u8, digits[..n]);
        }

        if (!hasServer && _connection.Server.Options.ServerHeader is { } server)
        {
            EncodeField(w, "server", server);
        }

        if (!hasDate)
        {
            encoder.EncodeHeader(w, "date"u8, _connection.Server.Date.Current);
        }

        if (trailers is not null)
        {
            for (int i = 0; i < trailers.Count; i++)
            {
                var (name, value) = trailers[i];
                if (!IsConnectionSpecific(name))
                {
                    EncodeField(w, name, value);
                }
            }
        }
    }

    private async ValueTask WriteTrailersAsync(IReadOnlyList<(string Name, string Value)> trailers)
    {
        await _connection.EnterWriteAsync().ConfigureAwait(false);
        try
        {
            ThrowIfAborted();
            _connection.DrainControl();
            var w = _connection.HeaderScratch;
            _connection.Encoder.BeginBlock(w);
            for (int i = 0; i < trailers.Count; i++)
            {
                var (name, value) = trailers[i];
                if (!IsConnectionSpecific(name))
                {
                    EncodeField(w, name, value);
                }
            }

            // RFC 9113 §8.1: trailers are a HEADERS frame that ends the stream.
            _connection.WriteHeaderBlock(Id, endStream: true);
            SetEnded(true);
        }
        finally
        {
            _connection.ExitWrite();
        }
    }

    /// <summary>RFC 9113 §8.2.1: field names go out in lowercase; values as Latin-1 octets.</summary>
    private void EncodeField(IBufferWriter<byte> w, string name, string value) => EncodeField(_connection.Encoder, w, name, value);

    private static void EncodeField(HpackEncoder encoder, IBufferWriter<byte> w, string name, string value)
    {
        int total = name.Length + value.Length;
        byte[]? rented = null;
        Span<byte> buffer = total <= 512 ? stackalloc byte[total] : (rented = ArrayPool<byte>.Shared.Rent(total)).AsSpan(0, total);
        try
        {
            var nameBytes = buffer[..name.Length];
            for (int i = 0; i < name.Length; i++)
            {
                char c = name[i];
                nameBytes[i] = (byte)(c is >= 'A' and <= 'Z' ? c + 32 : c);
            }

            var valueBytes = buffer.Slice(name.Length, value.Length);
            Encoding.Latin1.GetBytes(value, valueBytes);
            encoder.EncodeHeader(w, nameBytes, valueBytes);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private void ThrowIfAborted()
    {
        if (_abortReason is not null)
        {
            throw _abortReason is IOException io ? new IOException(io.Message, io) : new IOException("The stream was aborted.", _abortReason);
        }

        if (IsReset)
        {
            throw new IOException("The stream was reset.");
        }
    }

    private async ValueTask WriteJsonInPlaceAsync(RackResponse response, long declared, bool hasTrailers)
    {
        await _connection.EnterWriteAsync().ConfigureAwait(false);
        try
        {
            ThrowIfAborted();
            _connection.DrainControl();
            WriteJsonInPlace(response, declared, hasTrailers);
        }
        finally
        {
            _connection.ExitWrite();
        }
    }

    /// <summary>
    /// Under the gate: a JSON body serialized straight into the output block, behind room left for its HEADERS frame
    /// and DATA frame header (sized from this connection's last such response). Once the document is complete its
    /// header block is encoded with the Content-Length (so a serializer that throws leaves both the output and the HPACK
    /// state untouched, and the app error path still answers 500); the document is moved by the difference when the room
    /// was not exactly right, and HEADERS plus one DATA frame (as much as the windows and the frame size allow) are
    /// committed together. What did not go out in that frame (the part past the block, or past the windows) is left in
    /// <see cref="_json"/> for <see cref="SendDataAsync"/>.
    /// </summary>
    private void WriteJsonInPlace(in RackResponse response, long declared, bool hasTrailers)
    {
        var json = (JsonBody)response.BodyObject!;
        int room = _connection.JsonHeadGuess;
        var memory = _connection.GetOutputMemory(Math.Min(PinnedBlockMemoryPool.BlockSize, room + Math.Max(json.LengthHint, 448) + JsonSlack));
        var region = memory.Length - room > 2 * JsonSlack ? memory[room..^JsonSlack] : Memory<byte>.Empty;
        var output = JsonOutput.Rent(region);
        try
        {
            output.SerializeWith(json);
            long length = output.Length;
            DeclaredLength.Check(declared, length);

            EncodeHead(response, length, trailers: null);
            var block = _connection.HeaderScratch.WrittenSpan;
            int headFrame = Http2FrameHeader.Size + block.Length;
            int dataAt = headFrame + Http2FrameHeader.Size;
            int inPlace = output.InPlaceLength;
            var span = memory.Span;
            if (region.IsEmpty || block.Length > _connection.PeerMaxFrameSize || dataAt + inPlace > span.Length)
            {
                // The head did not fit in front of the document (or needs CONTINUATION): copy the document out first,
                // since the header block is written into the same output memory.
                KeepUnsent(span.Slice(room, inPlace), output.Spilled);
                _connection.WriteHeaderBlock(Id, endStream: false);
                _headersSent = true;
                SetEnded(false);
                json.NoteLength(length);
                return;
            }

            if (dataAt != room)
            {
                span.Slice(room, inPlace).CopyTo(span[dataAt..]);
            }

            int sent = _connection.ReserveSendWindow(this, Math.Min(inPlace, _connection.PeerMaxFrameSize), out _, canWait: false);
            bool end = sent == length && !hasTrailers;
            Http2FrameHeader.Write(span, block.Length, Http2FrameType.Headers, Http2FrameFlags.EndHeaders, Id);
            block.CopyTo(span[Http2FrameHeader.Size..]);
            _connection.HeaderScratch.ResetWrittenCount();
            int total = headFrame;
            if (sent > 0)
            {
                Http2FrameHeader.Write(span[headFrame..], sent, Http2FrameType.Data, end ? Http2FrameFlags.EndStream : Http2FrameFlags.None, Id);
                total = dataAt + sent;
            }

            if (sent < length)
            {
                // Before the commit: the bytes past the frame are free output memory from then on.
                KeepUnsent(span.Slice(dataAt + sent, inPlace - sent), output.Spilled);
            }

            _connection.CommitInPlace(total);
            _unflushed += total;
            _headersSent = true;
            SetEnded(end);
            _connection.JsonHeadGuess = dataAt;
            json.NoteLength(length);
        }
        finally
        {
            output.Return();
        }
    }

    // Room kept at the end of the block so that a head a little larger than guessed still fits in front of the document.
    private const int JsonSlack = 64;

    /// <summary>The part of a JSON document still to send, in a pooled buffer (<see cref="_json"/>).</summary>
    private void KeepUnsent(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        _jsonLength = first.Length + second.Length;
        _json = ArrayPool<byte>.Shared.Rent(_jsonLength);
        first.CopyTo(_json);
        second.CopyTo(_json.AsSpan(first.Length));
    }

    /// <summary>Sends DATA frames within both windows and the peer's max frame size, waiting when a window is shut.</summary>
    internal async ValueTask SendDataAsync(ReadOnlyMemory<byte> data, bool endStream)
    {
        while (true)
        {
            if (data.IsEmpty)
            {
                if (endStream)
                {
                    await WriteDataFrameAsync(default, endStream: true).ConfigureAwait(false);
                }

                return;
            }

            int wanted = Math.Min(data.Length, _connection.PeerMaxFrameSize);
            int n = _connection.ReserveSendWindow(this, wanted, out var wait);
            if (n == 0)
            {
                // Let the client see what it has (it answers with WINDOW_UPDATE), then park until the window opens.
                await FlushNowAsync().ConfigureAwait(false);
                await wait!.ConfigureAwait(false);
                continue;
            }

            bool last = endStream && n == data.Length;
            await WriteDataFrameAsync(data[..n], last).ConfigureAwait(false);
            data = data[n..];
            if (last)
            {
                return;
            }

            if (_unflushed >= FlushThreshold)
            {
                await FlushNowAsync().ConfigureAwait(false);
            }
        }
    }

    // Under the write gate, before the frame is flushed: from here on a stream the client had ended no longer counts
    // toward SETTINGS_MAX_CONCURRENT_STREAMS (RFC 9113 §5.1.2), though its app may still be finishing; a client that
    // opens the next stream as soon as it reads our END_STREAM is not refused.
    private void SetEnded(bool ended)
    {
        _ended = ended;
        if (ended)
        {
            State.Set(Http2StreamFlags.EndStreamSent);
        }
    }

    private async ValueTask WriteDataFrameAsync(ReadOnlyMemory<byte> data, bool endStream)
    {
        await _connection.EnterWriteAsync().ConfigureAwait(false);
        try
        {
            ThrowIfAborted();
            _connection.DrainControl();
            _connection.WriteFrame(Http2FrameType.Data, endStream ? Http2FrameFlags.EndStream : Http2FrameFlags.None, Id, data.Span);
            _unflushed += data.Length + Http2FrameHeader.Size;
            SetEnded(endStream);
        }
        finally
        {
            _connection.ExitWrite();
        }
    }

    /// <summary>
    /// Inline code (a response, a streaming body's flush, a gRPC message) leaves the flush to the read batch it runs
    /// in: the batch flushes once it ends, which is as soon as that code returns or awaits, so one send carries every
    /// frame the batch produced instead of one flush per frame. Code on other threads flushes now. Back-pressure holds
    /// either way: <see cref="SendDataAsync"/> flushes (and waits) every <see cref="FlushThreshold"/> bytes.
    /// </summary>
    private ValueTask FlushIfNeededAsync() => _connection.InReadBatch ? default : FlushNowAsync();

    internal ValueTask FlushNowAsync()
    {
        _unflushed = 0;
        return _connection.FlushAsync();
    }

    /// <summary>The writer given to streaming bodies; each flush reaches the client as DATA frames.</summary>
    private sealed class Http2BodyWriter : ResponseBodyWriter
    {
        private readonly Http2Stream _stream;
        private long _declared;
        private long _written;
        private List<(string Name, string Value)>? _trailers;
        private bool _open;
        private RackResponse _deferred;

        public Http2BodyWriter(Http2Stream stream) => _stream = stream;

        public override CancellationToken Aborted => _stream._aborted.Token;

        public IReadOnlyList<(string Name, string Value)>? Trailers => _trailers;

        public void Begin(long declared, IReadOnlyList<(string Name, string Value)>? trailers, RackResponse deferred = default)
        {
            _deferred = deferred;
            _declared = declared;
            _written = 0;
            _open = true;
            if (trailers is not null)
            {
                (_trailers ??= []).AddRange(trailers);
            }
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            if (!_open)
            {
                throw new InvalidOperationException("The response body is already complete.");
            }

            _written += data.Length;
            if (_declared >= 0 && _written > _declared)
            {
                throw new InvalidOperationException($"The response body is longer than its Content-Length ({_declared}).");
            }

            return _deferred.IsDefault || _stream._headersSent ? _stream.SendDataAsync(data, endStream: false) : SendHeadThenDataAsync(data);
        }

        public override ValueTask FlushAsync(CancellationToken cancellationToken = default)
            => _deferred.IsDefault || _stream._headersSent ? _stream.FlushIfNeededAsync() : SendHeadThenFlushAsync();

        private async ValueTask SendHeadThenDataAsync(ReadOnlyMemory<byte> data)
        {
            await _stream.WriteHeadersAsync(_deferred, _declared, endStream: false).ConfigureAwait(false);
            await _stream.SendDataAsync(data, endStream: false).ConfigureAwait(false);
        }

        private async ValueTask SendHeadThenFlushAsync()
        {
            await _stream.WriteHeadersAsync(_deferred, _declared, endStream: false).ConfigureAwait(false);
            await _stream.FlushIfNeededAsync().ConfigureAwait(false);
        }

        public override void AddTrailer(string name, string value)
        {
            if (!_open)
            {
                throw new InvalidOperationException("Trailers can only be added while the body is being written.");
            }

            if (!HeaderValidation.IsValidName(name) || !HeaderValidation.IsValidValue(value))
            {
                throw new ArgumentException($"Trailer '{name.ReplaceLineEndings(" ")}' has an invalid name or value.");
            }

            (_trailers ??= []).Add((name, value));
        }

        public void CheckLength()
        {
            _open = false;
            _deferred = default;
            if (_declared >= 0 && _written != _declared)
            {
                throw new InvalidOperationException($"The response body ({_written} bytes) is shorter than its Content-Length ({_declared}).");
            }
        }
    }
}
