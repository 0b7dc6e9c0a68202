using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Hyperion.Http2.Hpack;

namespace GrpcLoad;

/// <summary>The raw client's reading side: frames parsed from each receive, header blocks decoded, DATA split into messages.</summary>
internal sealed partial class RawGrpcConnection
{
    private void Receive()
    {
        if (_inStart == _inEnd)
        {
            _inStart = _inEnd = 0;
        }
        else if (_in.Length - _inEnd < FrameHeaderLength + DefaultMaxFrameSize)
        {
            Buffer.BlockCopy(_in, _inStart, _in, 0, _inEnd - _inStart);
            _inEnd -= _inStart;
            _inStart = 0;
        }

        int n;
        try
        {
            n = _socket.Receive(_in, _inEnd, _in.Length - _inEnd, SocketFlags.None);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            _now = Stopwatch.GetTimestamp();
            return;
        }
        catch (SocketException)
        {
            n = 0;
        }

        // One clock read per receive: every reply in it is timed at the moment it was read.
        _now = Stopwatch.GetTimestamp();
        if (n == 0)
        {
            Lose("client:connection-lost");
            return;
        }

        _inEnd += n;
        while (!_dead && _inEnd - _inStart >= FrameHeaderLength)
        {
            ReadOnlySpan<byte> head = _in.AsSpan(_inStart, FrameHeaderLength);
            int length = (head[0] << 16) | (head[1] << 8) | head[2];
            if (length > DefaultMaxFrameSize)
            {
                Lose("client:frame-too-large");   // RFC 9113 §4.2: above our SETTINGS_MAX_FRAME_SIZE
                return;
            }

            if (_inEnd - _inStart < FrameHeaderLength + length)
            {
                return;
            }

            int streamId = (int)(BinaryPrimitives.ReadUInt32BigEndian(head[5..]) & 0x7FFF_FFFF);
            OnFrame(head[3], head[4], streamId, _in.AsSpan(_inStart + FrameHeaderLength, length));
            _inStart += FrameHeaderLength + length;
        }
    }

    private void OnFrame(byte type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        if (_headerBlockOpen != (type == Continuation))
        {
            Lose("client:bad-continuation");   // RFC 9113 §6.10: a header block's frames are contiguous
            return;
        }

        switch (type)
        {
            case Data:
                OnData(flags, streamId, payload);
                break;
            case Headers:
                OnHeaders(flags, streamId, payload);
                break;
            case Continuation:
                OnContinuation(flags, payload);
                break;
            case RstStream:
                if (payload.Length == 4 && _streams.TryGetValue(streamId, out RawStream? reset))
                {
                    Finish(reset, "rst-stream:" + BinaryPrimitives.ReadUInt32BigEndian(payload).ToString(CultureInfo.InvariantCulture), reset: false);
                }

                break;
            case Settings:
                if ((flags & Ack) == 0)
                {
                    OnSettings(payload);
                }

                break;
            case Ping:
                if ((flags & Ack) == 0)
                {
                    WriteFrame(Ping, Ack, 0, payload);
                }

                break;
            case GoAway:
                OnGoAway(payload);
                break;
            case WindowUpdate:
                OnWindowUpdate(streamId, payload);
                break;
            case PushPromise:
                Lose("client:push-promise");   // we sent SETTINGS_ENABLE_PUSH = 0 (RFC 9113 §6.6)
                break;
            default:
                break;                         // RFC 9113 §5.5: unknown frame types are ignored
        }
    }

    private void OnData(byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        // Flow control counts the whole payload, padding included (RFC 9113 §6.1, §6.9).
        _connectionUnacked += payload.Length;
        if (_connectionUnacked >= ReceiveWindow / 2)
        {
            WriteWindowUpdate(0, _connectionUnacked);
            _connectionUnacked = 0;
        }

        if (!Unpad(flags, ref payload, 0))
        {
            Lose("client:bad-data-frame");
            return;
        }

        if (!_streams.TryGetValue(streamId, out RawStream? s))
        {
            return;   // a stream we already reset or finished
        }

        bool end = (flags & EndStream) != 0;
        s.Unacked += payload.Length;
        if (!end && s.Unacked >= ReceiveWindow / 2)
        {
            WriteWindowUpdate(streamId, s.Unacked);
            s.Unacked = 0;
        }

        if (!s.HeadersSeen)
        {
            Finish(s, "client:data-before-headers", reset: true);
            return;
        }

        int replies = s.Reader.Feed(payload, _plan.ExpectedReply);
        if (replies > 0)
        {
            OnReply(s, replies);
        }

        if (end && !s.Done)
        {
            Finish(s, "client:no-trailers", reset: false);   // PROTOCOL-HTTP2.md: a response ends with trailers
        }
    }

    private void OnHeaders(byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        int skip = (flags & PriorityFlag) != 0 ? 5 : 0;
        if (!Unpad(flags, ref payload, skip))
        {
            Lose("client:bad-headers-frame");
            return;
        }

        bool end = (flags & EndStream) != 0;
        if ((flags & EndHeaders) != 0)
        {
            OnHeaderBlock(streamId, payload, end);
            return;
        }

        _headerBlockOpen = true;
        _continuationStream = streamId;
        _continuationEndStream = end;
        _continuationLength = 0;
        AppendContinuation(payload);
    }

    private void OnContinuation(byte flags, ReadOnlySpan<byte> payload)
    {
        AppendContinuation(payload);
        if ((flags & EndHeaders) != 0)
        {
            _headerBlockOpen = false;
            int length = _continuationLength;
            _continuationLength = 0;
            OnHeaderBlock(_continuationStream, _continuation.AsSpan(0, length), _continuationEndStream);
        }
    }

    private void AppendContinuation(ReadOnlySpan<byte> fragment)
    {
        if (_continuation.Length - _continuationLength < fragment.Length)
        {
            Array.Resize(ref _continuation, Math.Max(2 * _continuation.Length, _continuationLength + fragment.Length));
        }

        fragment.CopyTo(_continuation.AsSpan(_continuationLength));
        _continuationLength += fragment.Length;
    }

    private void OnHeaderBlock(int streamId, ReadOnlySpan<byte> block, bool endStream)
    {
        _fields.Reset();
        try
        {
            // Every block is decoded, even a finished stream's: the HPACK table is the connection's (RFC 7541 §2.2).
            _decoder.Decode(block, _fields);
        }
        catch (HpackDecodingException)
        {
            Lose("client:hpack-error");
            return;
        }
        catch (HeaderListTooLargeException)
        {
            if (_streams.TryGetValue(streamId, out RawStream? big))
            {
                Finish(big, "client:header-list-too-large", reset: !endStream);
            }

            return;
        }

        if (!_streams.TryGetValue(streamId, out RawStream? s))
        {
            return;
        }

        if (!s.HeadersSeen)
        {
            s.HeadersSeen = true;
            s.HttpStatus = _fields.HttpStatus;
            if (!endStream)
            {
                return;
            }
        }
        else if (!endStream)
        {
            Finish(s, "client:headers-without-end-stream", reset: true);
            return;
        }

        Finish(s, StatusOf(s, _fields.GrpcStatus), reset: !s.HalfClosed);
    }

    private void OnSettings(ReadOnlySpan<byte> payload)
    {
        for (int at = 0; at + 6 <= payload.Length; at += 6)
        {
            ushort id = BinaryPrimitives.ReadUInt16BigEndian(payload[at..]);
            uint value = BinaryPrimitives.ReadUInt32BigEndian(payload[(at + 2)..]);
            switch (id)
            {
                case 0x1:
                    _encoder.SetPeerMaxTableSize((int)Math.Min(value, int.MaxValue));   // applied at the next block's start
                    break;
                case 0x3:
                    _peerMaxStreams = value;
                    break;
                case 0x4:
                    // RFC 9113 §6.9.2: a new initial window moves every open stream's window by the difference.
                    long delta = value - _peerInitialWindow;
                    _peerInitialWindow = value;
                    foreach (RawStream s in _streams.Values)
                    {
                        s.SendWindow += delta;
                    }

                    break;
                default:
                    break;
            }
        }

        WriteFrame(Settings, Ack, 0, default);
        _peerSettingsSeen = true;
        RetryBlocked();
    }

    private void OnGoAway(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 8)
        {
            Lose("client:bad-goaway");
            return;
        }

        // RFC 9113 §6.8: streams above the last id were not processed; the rest may still finish.
        int lastId = (int)(BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7FFF_FFFF);
        _closed ??= "client:goaway";
        foreach (RawStream s in _streams.Values.Where(s => s.Id > lastId).ToArray())
        {
            Finish(s, "client:goaway", reset: false);
        }
    }

    private void OnWindowUpdate(int streamId, ReadOnlySpan<byte> payload)
    {
        if (payload.Length != 4)
        {
            Lose("client:bad-window-update");
            return;
        }

        long increment = BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7FFF_FFFF;
        if (streamId == 0)
        {
            _sendWindow += increment;
        }
        else if (_streams.TryGetValue(streamId, out RawStream? s))
        {
            s.SendWindow += increment;
        }

        if (_blocked.Count > 0)
        {
            RetryBlocked();
        }
    }

    /// <summary>Strips padding (RFC 9113 §6.1, §6.2) and <paramref name="skip"/> priority octets; false when malformed.</summary>
    private static bool Unpad(byte flags, ref ReadOnlySpan<byte> payload, int skip)
    {
        int pad = 0;
        if ((flags & Padded) != 0)
        {
            if (payload.IsEmpty)
            {
                return false;
            }

            pad = payload[0];
            payload = payload[1..];
        }

        if (skip + pad > payload.Length)
        {
            return false;
        }

        payload = payload[skip..^pad];
        return true;
    }

    private void Lose(string why)
    {
        _closed ??= why;
        _dead = true;
        _outLength = 0;
        _stampOnFlush.Clear();
        FailAll(why);
        _socket.Close();
    }
}
