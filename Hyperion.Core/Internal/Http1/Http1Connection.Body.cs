using System.Buffers;
using System.IO.Pipelines;
using Hyperion.Internal.Http;

namespace Hyperion.Internal.Http1;

/// <summary>Request bodies: Content-Length and chunked (RFC 9112 §6, §7.1), streamed into rack.input as they arrive.</summary>
internal sealed partial class Http1Connection
{
    private const int MaxChunkLineLength = 4096;

    private static readonly byte[] DiscardBuffer = new byte[4096];

    private enum ChunkState
    {
        Size,
        Data,
        DataEnd,
        Trailers,
    }

    private bool _bodyActive;
    private bool _bodyDone;
    private bool _bodyChunked;
    private bool _bodyNeedMore;
    private bool _expectContinuePending;
    private long _bodyRemaining;
    private long _bodyDecoded;
    private ChunkState _chunkState;
    private int _trailerBytes;
    private int _trailerCount;
    private BadRequestException? _bodyError;
    private RackEnv? _bodyEnv;

    private void BeginBody(RackEnv env)
    {
        _bodyChunked = _head.Chunked;
        _bodyRemaining = _head.Chunked ? 0 : Math.Max(_head.ContentLength, 0);
        _bodyActive = _head.Chunked || _head.ContentLength > 0;
        _bodyDone = !_bodyActive;
        _bodyNeedMore = false;
        _bodyDecoded = 0;
        _chunkState = ChunkState.Size;
        _trailerBytes = 0;
        _trailerCount = 0;
        _bodyError = null;
        _bodyEnv = env;
        _expectContinuePending = _head.ExpectContinue && _bodyActive && _head.Http11;
        env.ContentLength = _head.ContentLength >= 0 ? _head.ContentLength : null;
        if (_bodyActive)
        {
            _context.Timeouts.StartRequestBody(_options.MinRequestBodyDataRate, _options.MinRequestBodyDataRateGracePeriod);
            env.BodyStream.Attach(this);
        }
    }

    private bool BodyBytesBuffered()
    {
        if (!_input.TryRead(out var result))
        {
            return false;
        }

        bool any = !result.Buffer.IsEmpty;
        _input.AdvanceTo(result.Buffer.Start);
        return any;
    }

    public async ValueTask<int> ReadBodyAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (_bodyDone)
        {
            return 0;
        }

        if (_bodyError is { } error)
        {
            // The framing already failed: every later read (the app's, or FinishBodyAsync's drain) gets the same answer.
            throw new BadRequestException(error.Reason);
        }

        if (_expectContinuePending)
        {
            // RFC 9110 §10.1.1: the client waits for this before sending the body; send it when the app first reads.
            // A body that is already here (sent with the head) needs no 100: the server MAY omit it, and clients
            // that did not wait would read it as the answer to their next request.
            _expectContinuePending = false;
            if (!BodyBytesBuffered())
            {
                _output.Write("HTTP/1.1 100 Continue\r\n\r\n"u8);
                _unflushed = false;
                await FlushOutputAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        while (true)
        {
            ReadResult result;
            if (_bodyNeedMore || !_input.TryRead(out result))
            {
                // The body-rate clock runs only while the app waits here: time it spends elsewhere is not the client's.
                SetPhase(ConnectionPhase.ReadingBody);
                _context.Timeouts.StartTimingRead();
                try
                {
                    result = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    _context.Timeouts.StopTimingRead();
                }

                SetPhase(ConnectionPhase.Processing);
            }

            int copied = ConsumeBody(result, destination.Span);
            if (copied > 0 || _bodyDone)
            {
                OnBodyRead();
                return copied;
            }
        }
    }

    public bool IsBodyFullyBuffered
    {
        get
        {
            if (_bodyDone)
            {
                return true;
            }

            // Chunked: where the body ends is known only by decoding it. 100-continue: the client has sent nothing.
            if (_bodyChunked || _expectContinuePending || _bodyError is not null || !_input.TryRead(out var result))
            {
                return false;
            }

            bool all = result.Buffer.Length >= _bodyRemaining;
            _input.AdvanceTo(result.Buffer.Start);
            return all;
        }
    }

    public bool TryReadBufferedBody(Span<byte> destination, out int read)
    {
        read = 0;
        if (_bodyDone)
        {
            return true;
        }

        if (_expectContinuePending)
        {
            // The client waits for 100 Continue before it sends anything: nothing can be buffered yet.
            return false;
        }

        while (_input.TryRead(out var result))
        {
            read = ConsumeBody(result, destination);
            if (read > 0 || _bodyDone)
            {
                OnBodyRead();
                return true;
            }

            if (_bodyNeedMore)
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>Decodes body bytes from one read into <paramref name="destination"/> and advances the input past them.</summary>
    private int ConsumeBody(in ReadResult result, Span<byte> destination)
    {
        if (result.IsCanceled)
        {
            _input.AdvanceTo(result.Buffer.Start);
            if (_timedOut == (int)RejectionReason.MinBodyDataRate)
            {
                throw new BadRequestException(RejectionReason.MinBodyDataRate);
            }

            throw new IOException("The connection was aborted while reading the request body.");
        }

        var buffer = result.Buffer;
        int copied;
        SequencePosition consumed;
        try
        {
            copied = _bodyChunked
                ? DecodeChunked(buffer, destination, out consumed, out _bodyNeedMore)
                : CopyFixed(buffer, destination, out consumed, out _bodyNeedMore);
        }
        catch (BadRequestException bad)
        {
            // Release the read first: left in progress, an app that catches the IOException and answers makes the
            // drain in FinishBodyAsync fail with InvalidOperationException. The drain gets this error again, logs it
            // and closes: nothing after broken framing can be trusted as a next request (RFC 9112 §7.1).
            _input.AdvanceTo(buffer.End);
            _bodyError = bad;
            throw;
        }

        long received = buffer.Slice(0, consumed).Length;
        _context.Timeouts.BytesRead(received);
        if (_bodyNeedMore)
        {
            _input.AdvanceTo(consumed, buffer.End);
        }
        else
        {
            _input.AdvanceTo(consumed);
        }

        if (_bodyDone)
        {
            _context.Timeouts.StopRequestBody();
        }

        if (copied == 0 && !_bodyDone && result.IsCompleted)
        {
            throw new BadRequestException(RejectionReason.UnexpectedEndOfBody);
        }

        return copied;
    }

    private int CopyFixed(in ReadOnlySequence<byte> buffer, Span<byte> destination, out SequencePosition consumed, out bool needMore)
    {
        int n = (int)Math.Min(Math.Min(destination.Length, _bodyRemaining), buffer.Length);
        buffer.Slice(0, n).CopyTo(destination);
        consumed = buffer.GetPosition(n);
        _bodyRemaining -= n;
        _bodyDecoded += n;
        _bodyDone = _bodyRemaining == 0;
        needMore = n == 0;
        return n;
    }

    /// <summary>Decodes as much chunked framing and data as the buffer holds. Throws <see cref="BadRequestException"/> on malformed framing.</summary>
    private int DecodeChunked(in ReadOnlySequence<byte> buffer, Span<byte> destination, out SequencePosition consumed, out bool needMore)
    {
        var reader = new SequenceReader<byte>(buffer);
        int copied = 0;
        needMore = false;
        while (!_bodyDone && copied < destination.Length)
        {
            switch (_chunkState)
            {
                case ChunkState.Size:
                    if (!TryReadLine(ref reader, out var sizeLine, MaxChunkLineLength, RejectionReason.InvalidChunkExtension))
                    {
                        needMore = copied == 0;
                        consumed = reader.Position;
                        return copied;
                    }

                    _bodyRemaining = ParseChunkSize(sizeLine);
                    _chunkState = _bodyRemaining == 0 ? ChunkState.Trailers : ChunkState.Data;
                    break;

                case ChunkState.Data:
                    if (reader.End)
                    {
                        needMore = copied == 0;
                        consumed = reader.Position;
                        return copied;
                    }

                    int n = (int)Math.Min(Math.Min(destination.Length - copied, _bodyRemaining), reader.Remaining);
                    reader.UnreadSequence.Slice(0, n).CopyTo(destination[copied..]);
                    reader.Advance(n);
                    copied += n;
                    _bodyRemaining -= n;
                    _bodyDecoded += n;
                    if (_bodyEnv!.MaxRequestBodySize is long max && _bodyDecoded > max)
                    {
                        throw new BadRequestException(RejectionReason.BodyTooLarge);
                    }

                    if (_bodyRemaining == 0)
                    {
                        _chunkState = ChunkState.DataEnd;
                    }

                    break;

                case ChunkState.DataEnd:
                    if (reader.Remaining < 2)
                    {
                        if (reader.Remaining == 1 && reader.IsNext(HttpChars.CR) is false)
                        {
                            throw new BadRequestException(RejectionReason.InvalidChunkTerminator);
                        }

                        needMore = copied == 0;
                        consumed = reader.Position;
                        return copied;
                    }

                    if (!reader.IsNext("\r\n"u8, advancePast: true))
                    {
                        throw new BadRequestException(RejectionReason.InvalidChunkTerminator);
                    }

                    _chunkState = ChunkState.Size;
                    break;

                case ChunkState.Trailers:
                    if (!TryReadLine(ref reader, out var trailer, _options.MaxRequestHeadersTotalSize, RejectionReason.HeadersTooLarge))
                    {
                        needMore = copied == 0;
                        consumed = reader.Position;
                        return copied;
                    }

                    if (trailer.IsEmpty)
                    {
                        _bodyDone = true;
                        break;
                    }

                    ValidateTrailer(trailer);
                    break;
            }
        }

        consumed = reader.Position;
        return copied;
    }

    /// <summary>Reads one CRLF-terminated line (without the CRLF). Bare LF, or a line longer than <paramref name="limit"/>, is refused.</summary>
    private static bool TryReadLine(ref SequenceReader<byte> reader, out ReadOnlySequence<byte> line, int limit, RejectionReason tooLong)
    {
        if (!reader.TryReadTo(out line, HttpChars.LF))
        {
            if (reader.Remaining > limit)
            {
                throw new BadRequestException(tooLong);
            }

            return false;
        }

        if (line.Length > limit)
        {
            throw new BadRequestException(tooLong);
        }

        if (line.IsEmpty || !line.Slice(line.Length - 1).FirstSpan.SequenceEqual("\r"u8))
        {
            throw new BadRequestException(RejectionReason.BareLineFeed);
        }

        line = line.Slice(0, line.Length - 1);
        return true;
    }

    /// <summary>chunk-size [ chunk-ext ] with RFC 9112 §7.1.1 extension syntax; everything else is refused.</summary>
    private static long ParseChunkSize(in ReadOnlySequence<byte> lineSequence)
    {
        Span<byte> copy = stackalloc byte[(int)Math.Min(lineSequence.Length, MaxChunkLineLength)];
        ReadOnlySpan<byte> line = lineSequence.IsSingleSegment ? lineSequence.FirstSpan : Copy(lineSequence, copy);

        int digits = line.IndexOfAnyExcept(HttpChars.HexDigits);
        if (digits < 0)
        {
            digits = line.Length;
        }

        // 15 hex digits already exceed any body we would accept; more can overflow a long.
        if (digits == 0 || digits > 15)
        {
            throw new BadRequestException(RejectionReason.InvalidChunkSize);
        }

        long size = 0;
        foreach (byte b in line[..digits])
        {
            size = (size << 4) | (uint)HttpChars.HexValue(b);
        }

        var ext = line[digits..];
        if (!ext.IsEmpty && !IsValidChunkExtensions(ext))
        {
            throw new BadRequestException(ext[0] is (byte)';' or HttpChars.SP or HttpChars.HT
                ? RejectionReason.InvalidChunkExtension
                : RejectionReason.InvalidChunkSize);
        }

        return size;
    }

    private static ReadOnlySpan<byte> Copy(in ReadOnlySequence<byte> s, Span<byte> into)
    {
        s.CopyTo(into);
        return into[..(int)s.Length];
    }

    private static bool IsValidChunkExtensions(ReadOnlySpan<byte> s)
    {
        // *( BWS ";" BWS ext-name [ BWS "=" BWS ( token / quoted-string ) ] )
        int i = 0;
        while (i < s.Length)
        {
            i = SkipWhitespace(s, i);
            if (i >= s.Length || s[i] != (byte)';')
            {
                return false;
            }

            i = SkipWhitespace(s, i + 1);
            int nameStart = i;
            while (i < s.Length && HttpChars.Token.Contains(s[i]))
            {
                i++;
            }

            if (i == nameStart)
            {
                return false;
            }

            int afterName = SkipWhitespace(s, i);
            if (afterName < s.Length && s[afterName] == (byte)'=')
            {
                i = SkipWhitespace(s, afterName + 1);
                if (i < s.Length && s[i] == (byte)'"')
                {
                    i++;
                    while (true)
                    {
                        if (i >= s.Length)
                        {
                            return false;
                        }

                        byte c = s[i];
                        if (c == (byte)'"')
                        {
                            i++;
                            break;
                        }

                        if (c == (byte)'\\')
                        {
                            if (i + 1 >= s.Length || !HttpChars.FieldValue.Contains(s[i + 1]))
                            {
                                return false;
                            }

                            i += 2;
                            continue;
                        }

                        if (!HttpChars.FieldValue.Contains(c))
                        {
                            return false;
                        }

                        i++;
                    }
                }
                else
                {
                    int valueStart = i;
                    while (i < s.Length && HttpChars.Token.Contains(s[i]))
                    {
                        i++;
                    }

                    if (i == valueStart)
                    {
                        return false;
                    }
                }
            }
            else
            {
                i = afterName;
            }
        }

        return true;
    }

    private static int SkipWhitespace(ReadOnlySpan<byte> s, int i)
    {
        while (i < s.Length && (s[i] == HttpChars.SP || s[i] == HttpChars.HT))
        {
            i++;
        }

        return i;
    }

    private void ValidateTrailer(in ReadOnlySequence<byte> lineSequence)
    {
        _trailerBytes += (int)lineSequence.Length + 2;
        if (++_trailerCount > _options.MaxRequestHeaderCount || _trailerBytes > _options.MaxRequestHeadersTotalSize)
        {
            throw new BadRequestException(RejectionReason.HeadersTooLarge);
        }

        byte[] rented = ArrayPool<byte>.Shared.Rent((int)lineSequence.Length);
        try
        {
            lineSequence.CopyTo(rented);
            var line = rented.AsSpan(0, (int)lineSequence.Length);
            int colon = line.IndexOf(HttpChars.Colon);
            if (line[0] is HttpChars.SP or HttpChars.HT || colon <= 0 || line[colon - 1] is HttpChars.SP or HttpChars.HT
                || !HeaderValidation.IsValidName(line[..colon]) || !HeaderValidation.IsValidValue(line[(colon + 1)..]))
            {
                throw new BadRequestException(RejectionReason.InvalidTrailer);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>After the response: leave the connection at the next request, or decide to close it.</summary>
    /// <summary>A declared body over the request's limit that the app did not read: it is never drained, the connection closes.</summary>
    private bool UnreadBodyOverLimit
        => _bodyActive && !_bodyDone && _head.ContentLength >= 0 && _bodyEnv!.MaxRequestBodySize is long max && _head.ContentLength > max;

    private async ValueTask FinishBodyAsync()
    {
        if (!_bodyActive)
        {
            return;
        }

        _bodyActive = false;
        if (_bodyDone)
        {
            return;
        }

        if (_expectContinuePending || !_keepAlive || UnreadBodyOverLimit)
        {
            _context.Timeouts.StopRequestBody();
            // The client was told nothing (or we close anyway, or the unread body is over the limit): do not invite
            // or drain the body, close instead.
            _keepAlive = false;
            return;
        }

        try
        {
            while (await ReadBodyAsync(DiscardBuffer, CancellationToken.None).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (BadRequestException bad)
        {
            _server.Log.Rejected(_context.RemoteText, "body", bad.Reason, bad.StatusCode);
            _keepAlive = false;
        }
    }
}
