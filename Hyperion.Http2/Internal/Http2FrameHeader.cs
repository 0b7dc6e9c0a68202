using System.Buffers;
using System.Buffers.Binary;

namespace Hyperion.Http2.Internal;

/// <summary>The 9-octet frame header (RFC 9113 §4.1): 24-bit length, type, flags, reserved bit and 31-bit stream id.</summary>
internal readonly struct Http2FrameHeader
{
    public const int Size = 9;

    public const int DefaultMaxFrameSize = 16384;

    public const int MaxAllowedFrameSize = (1 << 24) - 1;

    public Http2FrameHeader(int length, Http2FrameType type, byte flags, int streamId)
    {
        Length = length;
        Type = type;
        Flags = flags;
        StreamId = streamId;
    }

    public int Length { get; }

    public Http2FrameType Type { get; }

    public byte Flags { get; }

    public int StreamId { get; }

    public bool HasFlag(byte flag) => (Flags & flag) != 0;

    /// <summary>Reads a header from the start of <paramref name="buffer"/>; false when fewer than 9 octets are there.</summary>
    public static bool TryRead(in ReadOnlySequence<byte> buffer, out Http2FrameHeader header)
    {
        if (buffer.Length < Size)
        {
            header = default;
            return false;
        }

        ReadOnlySpan<byte> span = buffer.FirstSpan;
        if (span.Length < Size)
        {
            Span<byte> copy = stackalloc byte[Size];
            buffer.Slice(0, Size).CopyTo(copy);
            header = Parse(copy);
            return true;
        }

        header = Parse(span);
        return true;
    }

    public static Http2FrameHeader Parse(ReadOnlySpan<byte> span)
    {
        int length = (span[0] << 16) | (span[1] << 8) | span[2];

        // RFC 9113 §4.1: the reserved bit MUST be ignored on receipt.
        int streamId = (int)(BinaryPrimitives.ReadUInt32BigEndian(span[5..]) & 0x7FFFFFFF);
        return new Http2FrameHeader(length, (Http2FrameType)span[3], span[4], streamId);
    }

    /// <summary>Writes a frame header; the reserved bit is sent as 0 (RFC 9113 §4.1).</summary>
    public static void Write(Span<byte> destination, int length, Http2FrameType type, byte flags, int streamId)
    {
        destination[0] = (byte)(length >> 16);
        destination[1] = (byte)(length >> 8);
        destination[2] = (byte)length;
        destination[3] = (byte)type;
        destination[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(destination[5..], (uint)streamId & 0x7FFFFFFF);
    }
}
