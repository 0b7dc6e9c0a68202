using System.Buffers;
using System.Buffers.Binary;
using Hyperion.Http2.Hpack;
using Hyperion.Internal.Http;

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
                NoteStreamActivity();
                OnData(header, payload);
                break;
            case Http2FrameType.Headers:
                NoteStreamActivity();
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

    /// <summary>
    /// A stream's state, live or closed, and the live stream if it is still running. Null for an id that is idle,
    /// was skipped (§5.1.1), was ignored after our GOAWAY, or closed so long ago that it was forgotten. Every rule below
    /// reads the state, never whether the route has finished, so the answer does not depend on timing.
    /// </summary>
    private Http2StreamState? FindState(int id, out Http2Stream? live)
    {
        lock (_streamsLock)
        {
            if (_streams.TryGetValue(id, out live))
            {
                return live.State;
            }

            return _closed.Find(id);
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
        var state = FindState(header.StreamId, out var stream);
        if (state is null)
        {
            if (header.StreamId > _highestStreamId)
            {
                // RFC 9113 §5.1: DATA on an idle stream.
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "DATA on an idle stream.");
            }

            // §5.1: still counted against the connection window (§6.9.1), then handed back.
            CreditConnectionWindow(flowLength);
            if (header.StreamId <= _goAwayLastStreamId)
            {
                // A skipped id is closed (§5.1.1), and so is one closed too long ago to remember: STREAM_CLOSED, as
                // for a remembered one. Streams past our final GOAWAY are discarded (§6.8).
                ResetClosedStream(header.StreamId, null, Http2ErrorCode.StreamClosed);
            }

            return;
        }

        if (state.EndedByPeer)
        {
            // RFC 9113 §5.1: after the client's own END_STREAM (half-closed (remote): "MUST respond with a stream error
            // of type STREAM_CLOSED") or its own RST_STREAM, DATA is the client's error whatever our side has done.
            // The same stream error when our response has also ended (closed), where §5.1 would allow a connection
            // error: the client cannot know which of the two states it hit, so the answer must not depend on it.
            CreditConnectionWindow(flowLength);
            ResetLiveOrClosedStream(state, stream, Http2ErrorCode.StreamClosed);
            return;
        }

        if (stream is null)
        {
            // We reset the stream (an early response's NO_ERROR, or an error) and the client has not ended it:
            // DATA sent before it saw our RST_STREAM may still arrive and is discarded (§5.1), though it still has to
            // fit the stream window we granted (§6.9.1 holds in every state) and its END_STREAM still counts.
            CreditConnectionWindow(flowLength);
            if (!state.TryTakeReceiveWindow(flowLength))
            {
                ResetClosedStream(header.StreamId, state, Http2ErrorCode.FlowControlError);
                return;
            }

            if (header.HasFlag(Http2FrameFlags.EndStream))
            {
                state.Set(Http2StreamFlags.EndStreamReceived);
            }

            return;
        }

        Feeding(stream);
        bool received = stream.TryReceiveData(data, flowLength, header.HasFlag(Http2FrameFlags.EndStream), out var error);
        Feeding(null);
        if (!received)
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

        StartHeaderBlockClock();

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
            StopHeaderBlockClock();
            OnHeaderBlock(id, _headerEndStream, new ReadOnlySequence<byte>(_headerBlock.WrittenMemory));
        }
    }

    private void AppendHeaderBlock(in ReadOnlySequence<byte> fragment)
    {
        // A compressed block longer than twice the header list limit cannot decode to an acceptable list; since the
        // HPACK state would be lost without decoding it, the connection has to go (CONTINUATION flood).
        if (_headerBlock.WrittenCount + fragment.Length > 2L * HeaderListLimit)
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
        var state = FindState(streamId, out var existing);
        if (existing is not null && !state!.EndedByPeer)
        {
            OnTrailers(existing, endStream, block);
            return;
        }

        if (state is not null)
        {
            // The block is decoded all the same, so the HPACK table stays in step (§4.3, §5.1).
            DecodeDiscard(block);
            if (state.EndedByPeer)
            {
                // §5.1: HEADERS after the client's own END_STREAM or RST_STREAM: STREAM_CLOSED, stream error, whether
                // or not our response has ended too (see OnData).
                ResetLiveOrClosedStream(state, existing, Http2ErrorCode.StreamClosed);
            }
            else if (endStream)
            {
                // Trailers that crossed our RST_STREAM (§5.1: discarded); what the client sends after them is its error.
                state.Set(Http2StreamFlags.EndStreamReceived);
            }

            return;
        }

        if ((streamId & 1) == 0)
        {
            // RFC 9113 §5.1.1: client streams are odd.
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "Even stream id from a client.");
        }

        if (streamId <= _highestStreamId)
        {
            if (streamId > _goAwayLastStreamId)
            {
                // A stream ignored after our final GOAWAY (§6.8): discard, keeping the HPACK table in step.
                DecodeDiscard(block);
                return;
            }

            // RFC 9113 §5.1.1: a new stream's id must exceed every id used; a skipped id (or one closed too long ago to
            // remember, which cannot be told apart from it) is "an unexpected stream identifier".
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "HEADERS on a lower stream id that is not open.");
        }

        _highestStreamId = streamId;
        _sink.Reset(trailers: false);
        bool fits = Decode(block);
        if (_headerSelfDependent)
        {
            RefuseStream(streamId, Http2ErrorCode.ProtocolError, RejectionReason.None);
            return;
        }

        if (streamId > _goAwayLastStreamId || (_goAwayReceived && _closing))
        {
            // RFC 9113 §6.8: streams started after our final GOAWAY are ignored.
            return;
        }

        if (!HasRoomForStream())
        {
            // RFC 9113 §5.1.2: over SETTINGS_MAX_CONCURRENT_STREAMS; REFUSED_STREAM tells the client it may retry.
            RefuseStream(streamId, Http2ErrorCode.RefusedStream, RejectionReason.None);
            return;
        }

        var rejection = CheckRequestLimits(fits);
        if (rejection != RejectionReason.None)
        {
            StartRejected(streamId, endStream, rejection);
            return;
        }

        _sink.Complete();
        if (_sink.Malformed != RejectionReason.None)
        {
            // RFC 9113 §8.1.1: a malformed request is a stream error of type PROTOCOL_ERROR.
            RefuseStream(streamId, Http2ErrorCode.ProtocolError, _sink.Malformed);
            return;
        }

        rejection = _sink.CheckRequestLine(_server.Options.MaxRequestLineSize);
        if (rejection == RejectionReason.None && _sink.Slice(_sink.Method).SequenceEqual("CONNECT"u8))
        {
            // We are an origin server, not a tunnel (RFC 9110 §9.3.6).
            rejection = RejectionReason.MethodNotImplemented;
        }

        if (rejection != RejectionReason.None)
        {
            StartRejected(streamId, endStream, rejection);
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

        if (!endStream || !fits || _sink.FieldCount > _server.Options.MaxRequestHeaderCount || _sink.Malformed != RejectionReason.None)
        {
            // RFC 9113 §8.1: trailers must end the stream and carry no pseudo-headers; else malformed. Over the header
            // limits (as HTTP/1.1 bounds its trailer section) the body is already the app's, so the stream is reset.
            ResetStream(stream, Http2ErrorCode.ProtocolError);
            return;
        }

        Feeding(stream);
        bool received = stream.TryReceiveData(ReadOnlySequence<byte>.Empty, 0, endStream: true, out var error);
        Feeding(null);
        if (!received)
        {
            ResetStream(stream, error);
        }
    }

    /// <summary>A stream error on a stream, live or closed.</summary>
    private void ResetLiveOrClosedStream(Http2StreamState state, Http2Stream? live, Http2ErrorCode code)
    {
        if (live is not null)
        {
            ResetStream(live, code);
        }
        else
        {
            ResetClosedStream(state.Id, state, code);
        }
    }

    /// <summary>A stream error on any id that is not idle-by-rule: live, remembered, or unknown (skipped, forgotten).</summary>
    private void ResetAnyStream(int streamId, Http2ErrorCode code)
    {
        var state = FindState(streamId, out var live);
        if (state is null)
        {
            ResetClosedStream(streamId, null, code);
        }
        else
        {
            ResetLiveOrClosedStream(state, live, code);
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
            // RFC 9113 §6.3: wrong length is a stream error of type FRAME_SIZE_ERROR. PRIORITY is allowed in every
            // state and opens nothing (§5.1), so an idle id stays idle.
            ResetAnyStream(header.StreamId, Http2ErrorCode.FrameSizeError);
            return;
        }

        Span<byte> fields = stackalloc byte[5];
        payload.CopyTo(fields);
        if ((int)(BinaryPrimitives.ReadUInt32BigEndian(fields) & 0x7FFFFFFF) == header.StreamId)
        {
            ResetAnyStream(header.StreamId, Http2ErrorCode.ProtocolError);
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
        var state = FindState(header.StreamId, out var stream);

        // Recorded even when our side had already finished: from here on DATA or HEADERS from the client on this
        // stream is STREAM_CLOSED (§5.1). Never answered with RST_STREAM (§5.4.2).
        bool first = state?.Set(Http2StreamFlags.ResetReceived) ?? false;
        if (stream is null)
        {
            // §5.1: RST_STREAM may cross our END_STREAM or RST_STREAM; it stops nothing more.
            CountUnproductiveFrame();
            return;
        }

        if (first)
        {
            stream.Abort(new IOException("The client reset the stream."));
        }

        stream.Close();
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

        (Http2StreamState State, Http2Stream? Live)[] streams;
        lock (_streamsLock)
        {
            streams = [.. _streams.Values.Select(s => (s.State, (Http2Stream?)s)), .. _closed.States.Select(s => (s, (Http2Stream?)null))];
        }

        foreach (var (state, live) in streams)
        {
            // RFC 9113 §6.9.2: the change applies to every window we keep (closed streams' too, so a later WINDOW_UPDATE
            // on one is judged against the window the client sees); past 2^31-1 is a connection error.
            if (!AdjustStreamSendWindow(state, live, delta))
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
            else if (IsKeepAlivePayload(data))
            {
                _keepAliveAcks++;
            }

            return;
        }

        // A burst is a flood (the per-second budget); a steady stream of needless pings is a strike (grpc's policy).
        CountControlFrame();
        CheckPingStrike();
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

        var state = FindState(header.StreamId, out var stream);
        if (state is null && header.StreamId > _highestStreamId)
        {
            // RFC 9113 §5.1: idle streams take only HEADERS and PRIORITY.
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "WINDOW_UPDATE on an idle stream.");
        }

        // Closed streams: a WINDOW_UPDATE may cross our END_STREAM or RST_STREAM (§5.1) and is accepted, counted as
        // no progress unless it replenishes DATA the stream was sent before it closed.
        bool productive = stream is not null
            ? TakeWindowUpdateCredit(ref stream.WindowUpdateCredit, increment)
            : TakeWindowUpdateCredit(ref _closedStreamWindowUpdateCredit, increment);
        if (!productive)
        {
            CountUnproductiveFrame();
        }

        if (state is null)
        {
            // A skipped id, one ignored after our GOAWAY, or one forgotten: its window is unknown, so only the rule that
            // holds whatever the window is can apply.
            if (increment == 0 && header.StreamId <= _goAwayLastStreamId)
            {
                ResetClosedStream(header.StreamId, null, Http2ErrorCode.ProtocolError);
            }

            return;
        }

        if (increment == 0)
        {
            // RFC 9113 §6.9: "a flow-control window increment of 0 as a stream error of type PROTOCOL_ERROR", in every
            // state: on a stream we have finished or reset too (§5.4.2 allows the extra RST_STREAM).
            ResetLiveOrClosedStream(state, stream, Http2ErrorCode.ProtocolError);
            return;
        }

        if (!AdjustStreamSendWindow(state, stream, increment))
        {
            // RFC 9113 §6.9.1: a stream window above 2^31-1 is a stream error of type FLOW_CONTROL_ERROR; a closed
            // stream's window is remembered, so the answer is the same after our response has ended.
            ResetLiveOrClosedStream(state, stream, Http2ErrorCode.FlowControlError);
        }
    }

    private void StartStream(int streamId, bool endStream)
    {
        var sink = _sink;
        if (endStream && sink.ContentLength > 0)
        {
            // RFC 9113 §8.1.1: a content-length that the DATA frames (none here) cannot match is malformed.
            RefuseStream(streamId, Http2ErrorCode.ProtocolError, RejectionReason.UnexpectedEndOfBody);
            return;
        }

        var env = RentEnv();
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

        env.Method = KnownMethods.GetOrCreate(sink.Slice(sink.Method));
        env.Protocol = "HTTP/2";
        env.Scheme = _context.Scheme;
        env.RemoteEndPoint = _context.Remote;
        env.ClientCertificate = _context.ClientCertificate;
        env.LocalPort = _context.LocalPort;
        long declared = sink.ContentLength;
        env.ContentLength = declared >= 0 ? declared : null;

        var stream = new Http2Stream(this, streamId, env, _options.InitialStreamWindowSize, _peerInitialWindow, endStream, declared, asterisk);
        lock (_streamsLock)
        {
            _streams.Add(streamId, stream);
        }

        if (endStream)
        {
            stream.Start();
        }
        else
        {
            // Its body follows: start it once this read batch is parsed, so DATA that came with the HEADERS (a gRPC
            // unary call, a small POST) is already in the stream's pipe. A body that is all here runs inline on the
            // loop (RequestDispatcher's rule); started at once, it would go to the pool to wait for frames we hold.
            _deferredStarts.Add(stream);
        }
    }

    private void StartRejected(int streamId, bool endStream, RejectionReason reason)
    {
        var env = RentEnv();
        env.Protocol = "HTTP/2";
        env.Method = _sink.Method.Start >= 0 ? KnownMethods.GetOrCreate(_sink.Slice(_sink.Method)) : "-";
        var stream = new Http2Stream(this, streamId, env, _options.InitialStreamWindowSize, _peerInitialWindow, endStream, -1, asterisk: false);
        lock (_streamsLock)
        {
            _streams.Add(streamId, stream);
        }

        stream.StartRejected(reason);
    }
}
