using System.Buffers;
using System.Buffers.Binary;
using Hyperion.Http2.Hpack;

using Hyperion.Internal.Timeouts;

namespace Hyperion.Http2.Internal;

/// <summary>Receiving frames: the per-frame rules of RFC 9113 §6 and the stream states of §5.1.</summary>
internal sealed partial class Http2Connection
{
    private const int MaxWindow = int.MaxValue;

    private void ProcessFrame(in Http2FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        if (!_sawClientSettings)
        {
            // RFC 9113 §3.4: the client preface ends with a SETTINGS frame; anything else makes it invalid.
            if (header.Type != Http2FrameType.Settings || header.HasFlag(Http2FrameFlags.Ack))
            {
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "The client preface must be followed by SETTINGS.");
            }

            _sawClientSettings = true;
        }

        if (_headerStreamId != 0 && header.Type != Http2FrameType.Continuation)
        {
            // RFC 9113 §6.10: a header block is one contiguous run of HEADERS + CONTINUATION; nothing may interleave.
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "Frame interleaved with a header block.");
        }

        switch (header.Type)
        {
            case Http2FrameType.Data:
                OnData(header, payload);
                break;
            case Http2FrameType.Headers:
                OnHeaders(header, payload);
                break;
            case Http2FrameType.Priority:
                OnPriority(header, payload);
                break;
            case Http2FrameType.RstStream:
                OnRstStream(header, payload);
                break;
            case Http2FrameType.Settings:
                OnSettings(header, payload);
                break;
            case Http2FrameType.PushPromise:
                // RFC 9113 §8.4: clients cannot push; receiving PUSH_PROMISE is a connection error.
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "PUSH_PROMISE from a client.");
            case Http2FrameType.Ping:
                OnPing(header, payload);
                break;
            case Http2FrameType.GoAway:
                OnGoAway(header, payload);
                break;
            case Http2FrameType.WindowUpdate:
                OnWindowUpdate(header, payload);
                break;
            case Http2FrameType.Continuation:
                OnContinuation(header, payload);
                break;
            default:
                // RFC 9113 §5.5: unknown frame types are ignored.
                break;
        }
    }

    private static ReadOnlySequence<byte> RemovePadding(in Http2FrameHeader header, in ReadOnlySequence<byte> payload, int prefix, out int padding)
    {
        padding = 0;
        if (!header.HasFlag(Http2FrameFlags.Padded))
        {
            if (payload.Length < prefix)
            {
                throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, "Frame too short for its fields.");
            }

            return payload.Slice(prefix);
        }

        if (payload.Length < 1 + prefix)
        {
            throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, "Padded frame too short for its fields.");
        }

        padding = payload.FirstSpan[0];

        // RFC 9113 §6.1, §6.2: padding as long as or longer than the rest of the payload is a PROTOCOL_ERROR.
        if (padding >= payload.Length - prefix)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "Padding exceeds the frame payload.");
        }

        return payload.Slice(1 + prefix, payload.Length - 1 - prefix - padding);
    }

    private Http2Stream? FindStream(int id)
    {
        lock (_streamsLock)
        {
            return _streams.GetValueOrDefault(id);
        }
    }

    private int ClosedState(int id)
    {
        lock (_streamsLock)
        {
            return _closed.Lookup(id);
        }
    }

    private void OnData(in Http2FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        if (header.StreamId == 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "DATA on stream 0.");
        }

        var data = RemovePadding(header, payload, 0, out _);
        if (data.IsEmpty && !header.HasFlag(Http2FrameFlags.EndStream))
        {
            // Empty DATA that does not end the stream moves nothing (CVE-2019-9518).
            CountUnproductiveFrame();
        }

        // RFC 9113 §6.9.1: the whole payload, padding included, counts against the windows.
        int flowLength = header.Length;
        if (flowLength > Interlocked.Read(ref _connectionReceiveWindow))
        {
            throw new Http2ConnectionException(Http2ErrorCode.FlowControlError, "DATA exceeds the connection window.");
        }

        Interlocked.Add(ref _connectionReceiveWindow, -flowLength);
        var stream = FindStream(header.StreamId);
        if (stream is null)
        {
            if (header.StreamId > _highestStreamId)
            {
                // RFC 9113 §5.1: DATA on an idle stream.
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "DATA on an idle stream.");
            }

            CreditConnectionWindow(flowLength);
            if (ClosedState(header.StreamId) == 2)
            {
                // RFC 9113 §5.1: frames on a stream we reset may still be in flight; ignore them.
                return;
            }

            throw new Http2ConnectionException(Http2ErrorCode.StreamClosed, "DATA on a closed stream.");
        }

        if (stream.RequestEnded)
        {
            // RFC 9113 §5.1: half-closed (remote) takes no more DATA.
            CreditConnectionWindow(flowLength);
            ResetStream(stream, Http2ErrorCode.StreamClosed);
            return;
        }

        if (!stream.TryReceiveData(data, flowLength, header.HasFlag(Http2FrameFlags.EndStream), out var error))
        {
            CreditConnectionWindow(flowLength);
            ResetStream(stream, error);
            return;
        }

        // Padding is never handed to the app, so it is credited back at once.
        int padding = flowLength - (int)data.Length;
        if (padding > 0)
        {
            CreditConnectionWindow(padding);
            stream.CreditPadding(padding);
        }
    }

    private void OnHeaders(in Http2FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        if (header.StreamId == 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "HEADERS on stream 0.");
        }

        bool priority = header.HasFlag(Http2FrameFlags.Priority);
        var block = RemovePadding(header, payload, priority ? 5 : 0, out _);
        if (block.IsEmpty)
        {
            // A fragment carrying no field block: legal, and free to repeat without the count.
            CountUnproductiveFrame();
        }

        _headerSelfDependent = false;
        if (priority)
        {
            var p = header.HasFlag(Http2FrameFlags.Padded) ? payload.Slice(1, 5) : payload.Slice(0, 5);
            Span<byte> fields = stackalloc byte[5];
            p.CopyTo(fields);

            // A stream cannot depend on itself (RFC 9113 §5.3.1 keeps RFC 7540's rule): a stream error, raised once
            // the whole block is decoded so the HPACK table stays in step.
            _headerSelfDependent = (int)(BinaryPrimitives.ReadUInt32BigEndian(fields) & 0x7FFFFFFF) == header.StreamId;
        }

        _headerStreamId = header.StreamId;
        _headerEndStream = header.HasFlag(Http2FrameFlags.EndStream);
        _continuationCount = 0;
        if (header.HasFlag(Http2FrameFlags.EndHeaders))
        {
            _headerStreamId = 0;
            OnHeaderBlock(header.StreamId, _headerEndStream, block);
            return;
        }

        _headerBlock.ResetWrittenCount();
        AppendHeaderBlock(block);
    }

    private void OnContinuation(in Http2FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        if (_headerStreamId == 0 || header.StreamId != _headerStreamId)
        {
            // RFC 9113 §6.10: CONTINUATION must follow HEADERS/CONTINUATION without END_HEADERS on the same stream.
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "Unexpected CONTINUATION.");
        }

        if (++_continuationCount > _options.MaxContinuationFrames)
        {
            // CONTINUATION flood: refuse before buffering without end.
            throw new Http2ConnectionException(Http2ErrorCode.EnhanceYourCalm, "Too many CONTINUATION frames.");
        }

        if (payload.IsEmpty)
        {
            CountUnproductiveFrame();
        }

        AppendHeaderBlock(payload);
        if (header.HasFlag(Http2FrameFlags.EndHeaders))
        {
            int id = _headerStreamId;
            _headerStreamId = 0;
            OnHeaderBlock(id, _headerEndStream, new ReadOnlySequence<byte>(_headerBlock.WrittenMemory));
        }
    }

    private void AppendHeaderBlock(in ReadOnlySequence<byte> fragment)
    {
        // A compressed block longer than twice the header list limit cannot decode to an acceptable list; since the
        // HPACK state would be lost without decoding it, the connection has to go (CONTINUATION flood).
        if (_headerBlock.WrittenCount + fragment.Length > 2L * _options.MaxHeaderListSize)
        {
            throw new Http2ConnectionException(Http2ErrorCode.EnhanceYourCalm, "Header block exceeds the header list limit.");
        }

        foreach (var segment in fragment)
        {
            _headerBlock.Write(segment.Span);
        }
    }

    private void DecodeDiscard(in ReadOnlySequence<byte> block)
    {
        _sink.Reset(trailers: false);
        Decode(block);
    }

    /// <summary>Decodes into <see cref="_sink"/>; false when the list was over the limit (table still in step).</summary>
    private bool Decode(in ReadOnlySequence<byte> block)
    {
        try
        {
            _decoder.Decode(block, _sink);
            return true;
        }
        catch (HeaderListTooLargeException)
        {
            return false;
        }
        catch (HpackDecodingException ex)
        {
            // RFC 9113 §4.3: a block that cannot be decompressed is a connection error of type COMPRESSION_ERROR.
            throw new Http2ConnectionException(Http2ErrorCode.CompressionError, ex.Message);
        }
    }

    private void OnHeaderBlock(int streamId, bool endStream, in ReadOnlySequence<byte> block)
    {
        var existing = FindStream(streamId);
        if (existing is not null)
        {
            OnTrailers(existing, endStream, block);
            return;
        }

        if ((streamId & 1) == 0)
        {
            // RFC 9113 §5.1.1: client streams are odd.
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "Even stream id from a client.");
        }

        if (streamId <= _highestStreamId)
        {
            int state = ClosedState(streamId);
            if (state == 2)
            {
                DecodeDiscard(block);
                return;
            }

            // RFC 9113 §5.1: HEADERS on a closed stream; §5.1.1: a reused or lower id.
            throw new Http2ConnectionException(state == 1 ? Http2ErrorCode.StreamClosed : Http2ErrorCode.ProtocolError, "HEADERS on a closed or lower stream id.");
        }

        _highestStreamId = streamId;
        _sink.Reset(trailers: false);
        bool fits = Decode(block);
        if (_headerSelfDependent)
        {
            QueueRstStream(streamId, Http2ErrorCode.ProtocolError);
            MarkClosed(streamId, resetByUs: true);
            return;
        }

        if (streamId > _goAwayLastStreamId || (_goAwayReceived && _closing))
        {
            // RFC 9113 §6.8: streams started after our final GOAWAY are ignored.
            return;
        }

        if (ActiveStreams >= _options.MaxConcurrentStreams)
        {
            // RFC 9113 §5.1.2: over SETTINGS_MAX_CONCURRENT_STREAMS; REFUSED_STREAM tells the client it may retry.
            QueueRstStream(streamId, Http2ErrorCode.RefusedStream);
            MarkClosed(streamId, resetByUs: true);
            return;
        }

        if (!fits || _sink.FieldCount > _server.Options.MaxRequestHeaderCount)
        {
            // RFC 9113 §10.5.1: a header list over our advertised SETTINGS_MAX_HEADER_LIST_SIZE may be answered with
            // 431. The decoder processed the whole block, so the HPACK table is in step and the connection lives on.
            StartRejected(streamId, endStream, 431);
            return;
        }

        _sink.Complete();
        if (_sink.Malformed is not null)
        {
            // RFC 9113 §8.1.1: a malformed request is a stream error of type PROTOCOL_ERROR.
            QueueRstStream(streamId, Http2ErrorCode.ProtocolError);
            MarkClosed(streamId, resetByUs: true);
            return;
        }

        if (_sink.Slice(_sink.Method).SequenceEqual("CONNECT"u8))
        {
            // We are an origin server, not a tunnel (RFC 9110 §9.3.6).
            StartRejected(streamId, endStream, 501);
            return;
        }

        StartStream(streamId, endStream);
    }

    private void OnTrailers(Http2Stream stream, bool endStream, in ReadOnlySequence<byte> block)
    {
        _sink.Reset(trailers: true);
        bool fits = Decode(block);
        if (_headerSelfDependent)
        {
            ResetStream(stream, Http2ErrorCode.ProtocolError);
            return;
        }

        if (stream.RequestEnded)
        {
            // RFC 9113 §5.1: HEADERS on a half-closed (remote) stream.
            ResetStream(stream, Http2ErrorCode.StreamClosed);
            return;
        }

        if (!endStream || !fits || _sink.Malformed is not null)
        {
            // RFC 9113 §8.1: trailers must end the stream and carry no pseudo-headers; else malformed.
            ResetStream(stream, Http2ErrorCode.ProtocolError);
            return;
        }

        if (!stream.TryReceiveData(ReadOnlySequence<byte>.Empty, 0, endStream: true, out var error))
        {
            ResetStream(stream, error);
        }
    }

    private void MarkClosed(int streamId, bool resetByUs)
    {
        lock (_streamsLock)
        {
            _closed.Add(streamId, resetByUs);
        }
    }

    private void OnPriority(in Http2FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        if (header.StreamId == 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "PRIORITY on stream 0.");
        }

        // RFC 9113 §5.3.2: priority signals are ignored, so every PRIORITY frame is work without progress.
        CountUnproductiveFrame();

        if (header.Length != 5)
        {
            // RFC 9113 §6.3: wrong length is a stream error of type FRAME_SIZE_ERROR.
            QueueRstStream(header.StreamId, Http2ErrorCode.FrameSizeError);
            MarkClosed(header.StreamId, resetByUs: true);
            return;
        }

        Span<byte> fields = stackalloc byte[5];
        payload.CopyTo(fields);
        if ((int)(BinaryPrimitives.ReadUInt32BigEndian(fields) & 0x7FFFFFFF) == header.StreamId)
        {
            var stream = FindStream(header.StreamId);
            if (stream is not null)
            {
                ResetStream(stream, Http2ErrorCode.ProtocolError);
            }
            else
            {
                QueueRstStream(header.StreamId, Http2ErrorCode.ProtocolError);
                MarkClosed(header.StreamId, resetByUs: true);
            }
        }

        // Otherwise accepted and ignored: RFC 9113 §5.3.2 deprecates the priority signals.
    }

    private void OnRstStream(in Http2FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        if (header.StreamId == 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "RST_STREAM on stream 0.");
        }

        if (header.Length != 4)
        {
            throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, "RST_STREAM length is not 4.");
        }

        if (header.StreamId > _highestStreamId)
        {
            // RFC 9113 §6.4: RST_STREAM on an idle stream.
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "RST_STREAM on an idle stream.");
        }

        // Counted whether or not the stream had finished: a cheap request answered inline still cost us the work.
        CountReset();
        var stream = FindStream(header.StreamId);
        if (stream is null)
        {
            // RST_STREAM on a stream that is already closed changes nothing.
            CountUnproductiveFrame();
            return;
        }

        stream.Abort(new IOException("The client reset the stream."));
        stream.Close(resetByUs: false);
    }

    private void CountReset()
    {
        long now = _context.Timeouts.Now;
        if (now - _resetWindowStart > (long)_options.StreamResetWindow.TotalMilliseconds)
        {
            _resetWindowStart = now;
            _resetCount = 0;
        }

        if (++_resetCount > _options.MaxStreamResetsPerWindow)
        {
            // Rapid reset (CVE-2023-44487): streams opened and cancelled faster than anyone legitimate would.
            throw new Http2ConnectionException(Http2ErrorCode.EnhanceYourCalm, "Too many stream resets.");
        }
    }

    private void CountControlFrame()
    {
        if (Interlocked.Increment(ref _controlFrames) > _options.MaxControlFramesPerSecond)
        {
            // SETTINGS/PING flood: every one of these makes us write; past the limit we stop answering.
            throw new Http2ConnectionException(Http2ErrorCode.EnhanceYourCalm, "Too many frames needing an answer.");
        }
    }

    private void CountUnproductiveFrame()
    {
        if (Interlocked.Increment(ref _unproductiveFrames) > _options.MaxUnproductiveFramesPerSecond)
        {
            // Frames that cost a parse and a lookup but move no request forward (CVE-2019-9518 and kin).
            throw new Http2ConnectionException(Http2ErrorCode.EnhanceYourCalm, "Too many frames that make no progress.");
        }
    }

    private void OnSettings(in Http2FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        if (header.StreamId != 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "SETTINGS on a stream.");
        }

        if (header.HasFlag(Http2FrameFlags.Ack))
        {
            if (header.Length != 0)
            {
                // RFC 9113 §6.5: an ACK carries no payload.
                throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, "SETTINGS ACK with a payload.");
            }

            // Our only SETTINGS is acknowledged: the advertised header table size now binds the client.
            _decoder.MaxDynamicTableSize = _options.HeaderTableSize;
            _settingsAcked = true;
            _context.Timeouts.CancelTimeout(TimeoutReason.SettingsAck);
            return;
        }

        if (header.Length % 6 != 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, "SETTINGS length is not a multiple of 6.");
        }

        CountControlFrame();
        byte[]? rented = null;
        Span<byte> span = header.Length <= 256 ? stackalloc byte[header.Length] : (rented = ArrayPool<byte>.Shared.Rent(header.Length)).AsSpan(0, header.Length);
        try
        {
            payload.CopyTo(span);
            ApplySettings(span);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        // RFC 9113 §6.5.3: acknowledge once the values are applied.
        QueueFrame(Http2FrameType.Settings, Http2FrameFlags.Ack, 0, default);
    }

    private void ApplySettings(ReadOnlySpan<byte> span)
    {
        for (int i = 0; i + 6 <= span.Length; i += 6)
        {
            var id = (Http2SettingId)BinaryPrimitives.ReadUInt16BigEndian(span[i..]);
            uint value = BinaryPrimitives.ReadUInt32BigEndian(span[(i + 2)..]);
            switch (id)
            {
                case Http2SettingId.HeaderTableSize:
                    SetEncoderTableSize((int)Math.Min(value, int.MaxValue));
                    break;
                case Http2SettingId.EnablePush when value > 1:
                    throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "SETTINGS_ENABLE_PUSH must be 0 or 1.");
                case Http2SettingId.InitialWindowSize:
                    if (value > MaxWindow)
                    {
                        // RFC 9113 §6.5.2: above 2^31-1 is a FLOW_CONTROL_ERROR.
                        throw new Http2ConnectionException(Http2ErrorCode.FlowControlError, "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1.");
                    }

                    ApplyInitialWindow((int)value);
                    break;
                case Http2SettingId.MaxFrameSize:
                    if (value is < Http2FrameHeader.DefaultMaxFrameSize or > Http2FrameHeader.MaxAllowedFrameSize)
                    {
                        throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "SETTINGS_MAX_FRAME_SIZE out of range.");
                    }

                    _peerMaxFrameSize = (int)value;
                    break;
            }
        }
    }

    private void ApplyInitialWindow(int value)
    {
        int delta = value - _peerInitialWindow;
        _peerInitialWindow = value;
        if (delta == 0)
        {
            return;
        }

        Http2Stream[] streams;
        lock (_streamsLock)
        {
            streams = [.. _streams.Values];
        }

        foreach (var s in streams)
        {
            // RFC 9113 §6.9.2: the change applies to every open stream; past 2^31-1 is a connection error.
            if (!AdjustStreamSendWindow(s, delta))
            {
                throw new Http2ConnectionException(Http2ErrorCode.FlowControlError, "SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window.");
            }
        }
    }

    private void OnPing(in Http2FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        if (header.StreamId != 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "PING on a stream.");
        }

        if (header.Length != 8)
        {
            throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, "PING length is not 8.");
        }

        Span<byte> data = stackalloc byte[8];
        payload.CopyTo(data);
        if (header.HasFlag(Http2FrameFlags.Ack))
        {
            if (data.SequenceEqual(ShutdownPingPayload))
            {
                SendFinalGoAway();
            }

            return;
        }

        CountControlFrame();
        QueuePing(data, ack: true);
    }

    private void OnGoAway(in Http2FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        if (header.StreamId != 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "GOAWAY on a stream.");
        }

        if (header.Length < 8)
        {
            throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, "GOAWAY shorter than 8 octets.");
        }

        // The client is leaving: finish what is in flight, start nothing new, then close.
        _goAwayReceived = true;
        _closing = true;
    }

    private void OnWindowUpdate(in Http2FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        if (header.Length != 4)
        {
            throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, "WINDOW_UPDATE length is not 4.");
        }

        Span<byte> data = stackalloc byte[4];
        payload.CopyTo(data);
        int increment = (int)(BinaryPrimitives.ReadUInt32BigEndian(data) & 0x7FFFFFFF);
        if (header.StreamId == 0)
        {
            if (increment == 0)
            {
                // RFC 9113 §6.9: a zero increment on the connection is a connection error.
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "WINDOW_UPDATE with increment 0.");
            }

            if (!TakeWindowUpdateCredit(ref _connectionWindowUpdateCredit, increment))
            {
                CountUnproductiveFrame();
            }

            if (!AdjustConnectionSendWindow(increment))
            {
                throw new Http2ConnectionException(Http2ErrorCode.FlowControlError, "Connection window above 2^31-1.");
            }

            return;
        }

        var stream = FindStream(header.StreamId);
        if (stream is null)
        {
            if (header.StreamId > _highestStreamId)
            {
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "WINDOW_UPDATE on an idle stream.");
            }

            // Closed streams: a WINDOW_UPDATE may cross our END_STREAM or RST_STREAM (RFC 9113 §5.1); ignore it,
            // counting it unless it replenishes DATA the stream was sent before it closed.
            if (!TakeWindowUpdateCredit(ref _closedStreamWindowUpdateCredit, increment))
            {
                CountUnproductiveFrame();
            }

            return;
        }

        if (!TakeWindowUpdateCredit(ref stream.WindowUpdateCredit, increment))
        {
            CountUnproductiveFrame();
        }

        if (increment == 0)
        {
            ResetStream(stream, Http2ErrorCode.ProtocolError);
            return;
        }

        if (!AdjustStreamSendWindow(stream, increment))
        {
            // RFC 9113 §6.9.1: a stream window above 2^31-1 is a stream error.
            ResetStream(stream, Http2ErrorCode.FlowControlError);
        }
    }

    private void StartStream(int streamId, bool endStream)
    {
        var sink = _sink;
        if (endStream && sink.ContentLength > 0)
        {
            // RFC 9113 §8.1.1: a content-length that the DATA frames (none here) cannot match is malformed.
            QueueRstStream(streamId, Http2ErrorCode.ProtocolError);
            MarkClosed(streamId, resetByUs: true);
            return;
        }

        var env = _server.RentEnv();
        var path = sink.Slice(sink.PathAndQuery);
        bool asterisk = path.Length == 1 && path[0] == (byte)'*';
        for (int i = 0; i < sink.FieldCount; i++)
        {
            sink.GetField(i, out int ns, out int nl, out int vs, out int vl);
            env.Headers.Add(ns, nl, vs, vl);
        }

        env.CopyHead(sink.Bytes);
        int q = path.IndexOf((byte)'?');
        int start = sink.PathAndQuery.Start;
        if (q < 0)
        {
            env.SetTarget(start, path.Length, -1, 0);
        }
        else
        {
            env.SetTarget(start, q, start + q + 1, path.Length - q - 1);
        }

        env.Method = Hyperion.Internal.Http1.KnownMethods.GetOrCreate(sink.Slice(sink.Method));
        env.Protocol = "HTTP/2";
        env.Scheme = _context.Scheme;
        env.RemoteEndPoint = _context.Remote;
        env.LocalPort = _context.LocalPort;
        long declared = sink.ContentLength;
        env.ContentLength = declared >= 0 ? declared : null;

        var stream = new Http2Stream(this, streamId, env, _options.InitialStreamWindowSize, _peerInitialWindow, endStream, declared, asterisk);
        lock (_streamsLock)
        {
            _streams.Add(streamId, stream);
        }

        stream.Start();
    }

    private void StartRejected(int streamId, bool endStream, int status)
    {
        var env = _server.RentEnv();
        env.Protocol = "HTTP/2";
        var stream = new Http2Stream(this, streamId, env, _options.InitialStreamWindowSize, _peerInitialWindow, endStream, -1, asterisk: false);
        lock (_streamsLock)
        {
            _streams.Add(streamId, stream);
        }

        stream.StartRejected(status);
    }
}
