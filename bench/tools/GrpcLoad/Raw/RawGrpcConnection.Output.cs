using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;

namespace GrpcLoad;

/// <summary>The raw client's writing side: frames gathered in one buffer and sent once per receive.</summary>
internal sealed partial class RawGrpcConnection
{
    private void WriteFrame(byte type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        Span<byte> frame = Reserve(FrameHeaderLength + payload.Length);
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(frame[5..], (uint)streamId);
        payload.CopyTo(frame[FrameHeaderLength..]);
    }

    private void WriteWindowUpdate(int streamId, long increment)
    {
        Span<byte> value = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(value, (uint)increment);
        WriteFrame(WindowUpdate, 0, streamId, value);
    }

    private void WriteRaw(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Reserve(bytes.Length));

    private Span<byte> Reserve(int length)
    {
        if (_out.Length - _outLength < length)
        {
            Array.Resize(ref _out, Math.Max(2 * _out.Length, _outLength + length));
        }

        Span<byte> span = _out.AsSpan(_outLength, length);
        _outLength += length;
        return span;
    }

    private void Flush()
    {
        if (_outLength == 0 || _dead)
        {
            _outLength = 0;
            return;
        }

        // Each request is timed from the moment it goes to the socket, so the client's own batching is not counted as
        // the server's latency.
        long t = Stopwatch.GetTimestamp();
        foreach (RawStream s in _stampOnFlush)
        {
            if (s.Start == 0)
            {
                s.Start = t;
            }

            s.Sent = t;
            s.Deadline = t + CallDeadlineTicks;
        }

        _stampOnFlush.Clear();
        try
        {
            for (int sent = 0; sent < _outLength;)
            {
                sent += _socket.Send(_out, sent, _outLength - sent, SocketFlags.None);
            }

            _outLength = 0;
        }
        catch (SocketException)
        {
            Lose("client:connection-lost");
        }
    }
}
