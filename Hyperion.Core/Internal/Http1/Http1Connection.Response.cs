using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;
using Hyperion.Internal.Dispatch;
using Hyperion.Internal.Http;
using Hyperion.Internal.Infrastructure;
using Hyperion.Internal.Routing;
using Hyperion.Internal.Transport;
using Hyperion.Internal.Transport.Loops;

namespace Hyperion.Internal.Http1;

/// <summary>Responses: the server owns framing (Content-Length, chunked, close-delimited), Date, Server and Connection.</summary>
internal sealed partial class Http1Connection
{
    private const int FlushThreshold = 64 * 1024;

    private enum Framing
    {
        None,
        Fixed,
        Chunked,
        CloseDelimited,
    }

    private struct HeaderScan
    {
        public long ContentLength;
        public bool HasDate;
        public bool HasServer;
        public bool HasContentType;
    }

    private Http1BodyWriter? _bodyWriter;
    private long _pendingBytes;

    private ReadOnlySpan<byte> ConnectionLine =>
        !_keepAlive ? "Connection: close\r\n"u8 : _head.Http11 ? default : "Connection: keep-alive\r\n"u8;

    private void BeforeHead(int status)
    {
        if (_server.IsStopping || _expectContinuePending || UnreadBodyOverLimit)
        {
            // Stopping, or the client still waits for 100-continue that the app never asked for, or the unread body is
            // over the limit: this response ends the connection (RFC 9110 §10.1.1 lets us skip the body by closing).
            _keepAlive = false;
        }

        _responseStarted = true;
        _responseStatus = status;
        _unflushed = true;
    }

    private void WriteStatic(StaticVariant response)
    {
        BeforeHead(response.Response.Status);
        var connection = ConnectionLine;
        var body = _isHeadRequest ? default : response.Body.Span;
        var prefix = response.Prefix;
        int total = prefix.Length + DateHeaderCache.Length + 4 + connection.Length + body.Length;
        if (total <= 16 * 1024)
        {
            var span = _output.GetSpan(total);
            prefix.CopyTo(span);
            int p = prefix.Length;
            _server.Date.Current.CopyTo(span[p..]);
            p += DateHeaderCache.Length;
            "\r\n"u8.CopyTo(span[p..]);
            p += 2;
            connection.CopyTo(span[p..]);
            p += connection.Length;
            "\r\n"u8.CopyTo(span[p..]);
            p += 2;
            body.CopyTo(span[p..]);
            _output.Advance(total);
            return;
        }

        _output.Write(prefix);
        _output.Write(_server.Date.Current);
        _output.Write("\r\n"u8);
        _output.Write(connection);
        _output.Write("\r\n"u8);
        _output.Write(body);
    }

    /// <summary>An error or rejection answer: empty body, then close.</summary>
    private void WriteSimple(int status)
    {
        _keepAlive = false;
        BeforeHead(status);
        var w = new HeadWriter(_output, 256);
        w.Write(StatusLines.Get(status));
        w.Write("Content-Length: 0\r\nConnection: close\r\n"u8);
        w.Write(_server.ServerHeaderLine);
        w.Write("Date: "u8);
        w.Write(_server.Date.Current);
        w.Write("\r\n\r\n"u8);
        w.Commit();
    }

    private ValueTask WriteResponseAsync(RackEnv env, RackResponse response)
    {
        if (response.IsDefault)
        {
            throw new InvalidOperationException("The app returned a default RackResponse; build one with a constructor or factory.");
        }

        var scan = ScanHeaders(response);
        int status = response.Status;
        bool noBody = _isHeadRequest || StatusLines.ForbidsBody(status);
        bool trailers = response.Trailers is { Count: > 0 } && _head.Http11 && !noBody;
        if (response.BodyKind == ResponseBodyKind.Json && !trailers && !StatusLines.ForbidsBody(status))
        {
            // Serialized where the route's code runs (RequestDispatcher.InvokeBodyAsync), straight into the output.
            return RequestDispatcher.InvokeBodyAsync(_server, env, static s =>
                s.Connection.WriteJsonFixed(s.Response, s.Scan) ? default : s.Connection.WriteResponseAsync(s.Env, s.Response.SerializedJson()),
                (Connection: this, Env: env, Response: response, Scan: scan));
        }

        long length;
        FileBody? file = null;
        switch (response.BodyKind)
        {
            case ResponseBodyKind.Bytes:
            case ResponseBodyKind.Text:
                length = response.KnownLength;
                DeclaredLength.Check(scan.ContentLength, length);

                break;
            case ResponseBodyKind.File:
                file = FileBody.Open(response);
                if (file is null)
                {
                    _server.Log.FileMissing(Path.GetFullPath(FileBody.PathOf(response)));
                    return WriteResponseAsync(env, RackResponse.Empty(404));
                }

                length = file.Length;
                break;
            default:
                length = scan.ContentLength;
                break;
        }

        Framing framing = noBody ? Framing.None
            : trailers ? Framing.Chunked
            : length >= 0 ? Framing.Fixed
            : _head.Http11 ? Framing.Chunked
            : Framing.CloseDelimited;
        if (framing == Framing.CloseDelimited)
        {
            _keepAlive = false;
        }

        try
        {
            WriteHead(response, scan, framing, length);
        }
        catch
        {
            file?.Dispose();
            throw;
        }

        if (noBody)
        {
            file?.Dispose();
            return default;
        }

        switch (response.BodyKind)
        {
            case ResponseBodyKind.Bytes when !trailers:
                _output.Write(response.BytesBody.Span);
                return default;
            case ResponseBodyKind.Text when !trailers:
                WriteText(response.TextBody!, (int)length);
                return default;
            default:
                return WriteBodyAsync(env, response, framing, length, file);
        }
    }

    private HeaderScan ScanHeaders(in RackResponse response)
    {
        var scan = new HeaderScan { ContentLength = -1 };
        if (response.ContentType is { } ct && !HeaderValidation.IsValidValue(ct))
        {
            throw new InvalidOperationException("The response's content type contains CR, LF or another character not allowed in a header value; refused.");
        }

        var headers = response.Headers;
        for (int i = 0; i < headers.Count; i++)
        {
            var (name, value) = headers[i];
            if (!HeaderValidation.IsValidName(name) || value is null || !HeaderValidation.IsValidValue(value))
            {
                throw new InvalidOperationException($"Response header '{name?.ReplaceLineEndings(" ")}' has an invalid name or value (CR, LF and control characters are refused).");
            }

            switch (name.Length)
            {
                case 4 when name.Equals("Date", StringComparison.OrdinalIgnoreCase):
                    scan.HasDate = true;
                    break;
                case 6 when name.Equals("Server", StringComparison.OrdinalIgnoreCase):
                    scan.HasServer = true;
                    break;
                case 10 when name.Equals("Connection", StringComparison.OrdinalIgnoreCase):
                    if (value.Contains("close", StringComparison.OrdinalIgnoreCase))
                    {
                        _keepAlive = false;
                    }

                    break;
                case 12 when name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase):
                    scan.HasContentType = true;
                    break;
                case 14 when name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase):
                    if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out scan.ContentLength))
                    {
                        throw new InvalidOperationException($"The response's Content-Length header '{value}' is not a number.");
                    }

                    break;
            }
        }

        if (response.Trailers is { } trailers)
        {
            foreach (var (name, value) in trailers)
            {
                if (!HeaderValidation.IsValidName(name) || value is null || !HeaderValidation.IsValidValue(value))
                {
                    throw new InvalidOperationException($"Response trailer '{name?.ReplaceLineEndings(" ")}' has an invalid name or value.");
                }
            }
        }

        return scan;
    }

    private void WriteHead(in RackResponse response, in HeaderScan scan, Framing framing, long length)
    {
        BeforeHead(response.Status);
        var w = new HeadWriter(_output, 512);
        WriteHeadFields(ref w, response, scan);
        if (!StatusLines.ForbidsBody(response.Status))
        {
            if (framing == Framing.Chunked || (framing == Framing.None && length < 0 && _head.Http11 && response.BodyKind >= ResponseBodyKind.Chunks))
            {
                w.Write("Transfer-Encoding: chunked\r\n"u8);
            }
            else if (length >= 0)
            {
                w.Write("Content-Length: "u8);
                w.WriteNumber(length);
                w.Write("\r\n"u8);
            }
        }

        WriteServerFields(ref w, scan);
        w.Write("\r\n"u8);
        w.Commit();
    }

    /// <summary>The status line, the content type and the app's headers (framing headers are the server's).</summary>
    private static void WriteHeadFields(ref HeadWriter w, in RackResponse response, in HeaderScan scan)
    {
        w.Write(StatusLines.Get(response.Status));
        if (response.ContentType is { } contentType && !scan.HasContentType && !StatusLines.ForbidsBody(response.Status))
        {
            w.WriteHeader("Content-Type: "u8, contentType);
        }

        var headers = response.Headers;
        for (int i = 0; i < headers.Count; i++)
        {
            var (name, value) = headers[i];
            if (IsFramingHeader(name))
            {
                continue;
            }

            w.WriteHeader(name, value);
        }
    }

    /// <summary>Connection, Server and Date, each unless the app gave its own.</summary>
    private void WriteServerFields(ref HeadWriter w, in HeaderScan scan)
    {
        w.Write(ConnectionLine);
        if (!scan.HasServer)
        {
            w.Write(_server.ServerHeaderLine);
        }

        if (!scan.HasDate)
        {
            w.Write("Date: "u8);
            w.Write(_server.Date.Current);
            w.Write("\r\n"u8);
        }
    }

    /// <summary>
    /// A JSON body with a Content-Length, serialized straight into the output block after its head: the head (with
    /// Content-Length last, its digit count guessed from the last document of the type) and the document are written
    /// into one span, the digits filled in once the length is known (the document moved by a byte or two when the guess
    /// was wrong), then committed at once. A document that outgrows the block continues in a pooled buffer copied after
    /// it. Nothing is committed before the serializer has finished, so when it throws the app error path still answers
    /// 500. False, with nothing written, when the head does not fit the block: the caller sends the document as bytes.
    /// </summary>
    private bool WriteJsonFixed(in RackResponse response, in HeaderScan scan)
    {
        var json = (JsonBody)response.BodyObject!;
        int guess = json.LengthHint;
        BeforeHead(response.Status);
        var memory = _output.GetMemory(Math.Min(PinnedBlockMemoryPool.BlockSize, 512 + guess));
        var span = memory.Span;
        int digitsAt;
        try
        {
            var w = new HeadWriter(span);
            WriteHeadFields(ref w, response, scan);
            WriteServerFields(ref w, scan);
            w.Write("Content-Length: "u8);
            digitsAt = w.Written;
            if (span.Length - digitsAt < MaxDigits + 4 + JsonSlack)
            {
                throw new HeadWriter.SpanFullException();
            }
        }
        catch (HeadWriter.SpanFullException)
        {
            _responseStarted = false;
            return false;
        }

        int guessed = DigitCount(guess);
        int bodyAt = digitsAt + guessed + 4;

        // Room to move the document right when it has more digits than guessed.
        var region = span.Length - bodyAt > JsonSlack ? memory[bodyAt..^JsonSlack] : Memory<byte>.Empty;
        var output = JsonOutput.Rent(region);
        try
        {
            output.SerializeWith(json);
            long length = output.Length;
            DeclaredLength.Check(scan.ContentLength, length);

            int digits = DigitCount(length);
            if (digits != guessed)
            {
                span.Slice(bodyAt, output.InPlaceLength).CopyTo(span[(bodyAt + digits - guessed)..]);
                bodyAt += digits - guessed;
            }

            Utf8Formatter.TryFormat(length, span[digitsAt..], out _);
            "\r\n\r\n"u8.CopyTo(span[(digitsAt + digits)..]);
            if (_isHeadRequest)
            {
                _output.Advance(bodyAt);
            }
            else
            {
                _output.Advance(bodyAt + output.InPlaceLength);
                if (!output.Spilled.IsEmpty)
                {
                    _output.Write(output.Spilled);
                }
            }

            json.NoteLength(length);
            return true;
        }
        catch
        {
            // Nothing of this response was committed: the app error path may still answer.
            _responseStarted = false;
            throw;
        }
        finally
        {
            output.Return();
        }
    }

    // A length has at most 19 digits, so a document moves right by at most 18 bytes.
    private const int MaxDigits = 19;
    private const int JsonSlack = MaxDigits;

    private static int DigitCount(long value)
    {
        int digits = 1;
        while (value >= 10)
        {
            value /= 10;
            digits++;
        }

        return digits;
    }

    private static bool IsFramingHeader(string name) => name.Length switch
    {
        10 => name.Equals("Connection", StringComparison.OrdinalIgnoreCase),
        14 => name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase),
        17 => name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase),
        _ => false,
    };

    private void WriteText(string text, int byteCount)
    {
        if (byteCount <= 64 * 1024)
        {
            var span = _output.GetSpan(byteCount);
            Encoding.UTF8.GetBytes(text, span);
            _output.Advance(byteCount);
            return;
        }

        Encoding.UTF8.GetBytes(text.AsSpan(), _output);
    }

    private async ValueTask WriteBodyAsync(RackEnv env, RackResponse response, Framing framing, long length, FileBody? file)
    {
        bool chunked = framing == Framing.Chunked;
        var writer = _bodyWriter ??= new Http1BodyWriter(this);
        writer.Begin(chunked, length, response.Trailers);
        switch (response.BodyKind)
        {
            case ResponseBodyKind.Bytes:
                writer.Write(response.BytesBody.Span);
                break;
            case ResponseBodyKind.Text:
                writer.Write(Encoding.UTF8.GetBytes(response.TextBody!));
                break;
            case ResponseBodyKind.Chunks:
                foreach (var chunk in (IEnumerable<ReadOnlyMemory<byte>>)response.BodyObject!)
                {
                    writer.Write(chunk.Span);
                    await writer.FlushIfLargeAsync().ConfigureAwait(false);
                }

                break;
            case ResponseBodyKind.AsyncChunks:
                await foreach (var chunk in ((IAsyncEnumerable<ReadOnlyMemory<byte>>)response.BodyObject!).WithCancellation(AbortedToken).ConfigureAwait(false))
                {
                    writer.Write(chunk.Span);
                    await writer.FlushAsync().ConfigureAwait(false);
                }

                break;
            case ResponseBodyKind.File:
                await WriteFileAsync(file!, writer, chunked).ConfigureAwait(false);
                break;
            case ResponseBodyKind.Streaming:
                await RequestDispatcher.InvokeBodyAsync(_server, env, (Func<ResponseBodyWriter, ValueTask>)response.BodyObject!, writer).ConfigureAwait(false);
                break;
            case ResponseBodyKind.Json:
                // With trailers (chunked): the document is one chunk.
                await RequestDispatcher.InvokeBodyAsync(_server, env, static s => s.Response.WriteBodyToAsync(s.Writer), (Response: response, Writer: writer)).ConfigureAwait(false);
                break;
        }

        writer.End();
    }

    private async ValueTask WriteFileAsync(FileBody file, Http1BodyWriter writer, bool chunked)
    {
        using var owned = file;
        if (!chunked && _output is LoopOutput loop)
        {
            // io_uring and epoll: the descriptor joins the output queue after the head and goes out with sendfile(2)
            // from the loop thread; the queue closes it. The flush below waits (back-pressure) while much is unsent.
            loop.WriteFile(file.Detach(), file.Offset, file.Length);
            writer.CountExternal(file.Length);
            _pendingBytes += file.Length;
            _unflushed = true;
            await writer.FlushIfLargeAsync().ConfigureAwait(false);
            return;
        }

        if (!chunked && _context.Socket is { } socket)
        {
            // System.Net.Sockets: flush our head first so order holds, then sendfile(2) from the same descriptor.
            _unflushed = false;
            await FlushOutputAsync(AbortedToken).ConfigureAwait(false);
            await SocketFileSender.SendAsync(socket, file, AbortedToken).ConfigureAwait(false);
            _server.CountKernelFileBytes(file.Length);
            writer.CountExternal(file.Length);
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            int n;
            while ((n = await file.ReadAsync(buffer, AbortedToken).ConfigureAwait(false)) > 0)
            {
                writer.Write(buffer.AsSpan(0, n));
                await writer.FlushIfLargeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The body writer handed to streaming callbacks; one per connection, reset per response.</summary>
    private sealed class Http1BodyWriter : ResponseBodyWriter
    {
        private readonly Http1Connection _connection;
        private bool _chunked;
        private long _declared;
        private long _written;
        private List<(string Name, string Value)>? _trailers;
        private bool _open;

        public Http1BodyWriter(Http1Connection connection) => _connection = connection;

        public override CancellationToken Aborted => _connection.AbortedToken;

        public void Begin(bool chunked, long declaredLength, IReadOnlyList<(string Name, string Value)>? trailers)
        {
            _chunked = chunked;
            _declared = declaredLength;
            _written = 0;
            _open = true;
            _trailers?.Clear();
            if (trailers is not null)
            {
                (_trailers ??= []).AddRange(trailers);
            }
        }

        public void Write(ReadOnlySpan<byte> data)
        {
            if (!_open)
            {
                throw new InvalidOperationException("The response body is already complete.");
            }

            if (data.IsEmpty)
            {
                return;
            }

            _written += data.Length;
            if (_declared >= 0 && !_chunked && _written > _declared)
            {
                throw new InvalidOperationException($"The response body is longer than its Content-Length ({_declared}).");
            }

            var output = _connection._output;
            if (_chunked)
            {
                var span = output.GetSpan(20);
                Utf8Formatter.TryFormat(data.Length, span, out int n, new StandardFormat('x'));
                span[n] = HttpChars.CR;
                span[n + 1] = HttpChars.LF;
                output.Advance(n + 2);
                output.Write(data);
                output.Write("\r\n"u8);
            }
            else
            {
                output.Write(data);
            }

            _connection._pendingBytes += data.Length;
            _connection._unflushed = true;
        }

        public void CountExternal(long bytes) => _written += bytes;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            Write(data.Span);
            return FlushIfLargeAsync();
        }

        public ValueTask FlushIfLargeAsync() => _connection._pendingBytes >= FlushThreshold ? FlushAsync() : default;

        public override ValueTask FlushAsync(CancellationToken cancellationToken = default)
        {
            _connection._pendingBytes = 0;
            _connection._unflushed = false;
            var flush = _connection.FlushOutputAsync(cancellationToken);
            return flush.IsCompletedSuccessfully ? default : AwaitFlush(flush);

            static async ValueTask AwaitFlush(ValueTask<FlushResult> pending) => await pending.ConfigureAwait(false);
        }

        public override void AddTrailer(string name, string value)
        {
            if (!_open)
            {
                throw new InvalidOperationException("Trailers can only be added while the body is being written.");
            }

            if (!HeaderValidation.IsValidName(name) || !HeaderValidation.IsValidValue(value))
            {
                throw new ArgumentException($"Trailer '{name.ReplaceLineEndings(" ")}' has an invalid name or value (CR, LF and control characters are refused).");
            }

            (_trailers ??= []).Add((name, value));
        }

        public void End()
        {
            _open = false;
            if (_declared >= 0 && !_chunked && _written != _declared)
            {
                throw new InvalidOperationException($"The response body ({_written} bytes) is shorter than its Content-Length ({_declared}).");
            }

            if (!_chunked)
            {
                return;
            }

            var w = new HeadWriter(_connection._output, 64);
            w.Write("0\r\n"u8);
            if (_trailers is not null && _connection._head.Http11)
            {
                foreach (var (name, value) in _trailers)
                {
                    w.WriteHeader(name, value);
                }
            }

            w.Write("\r\n"u8);
            w.Commit();
            _connection._unflushed = true;
        }
    }
}
