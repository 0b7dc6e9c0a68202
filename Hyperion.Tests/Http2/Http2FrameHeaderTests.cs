using System.Buffers;
using Hyperion.Http2.Internal;

namespace Hyperion.Tests.Http2;

/// <summary>The 9-octet frame header (RFC 9113 §4.1): round trips, the reserved bit, split buffers.</summary>
public class Http2FrameHeaderTests
{
    [Theory]
    [InlineData(0, 0x4, 0x1, 0)]
    [InlineData(16384, 0x0, 0x9, 1)]
    [InlineData((1 << 24) - 1, 0x1, 0x25, int.MaxValue)]
    [InlineData(5, 0xBB, 0xFF, 77)]
    public void Round_trips(int length, byte typeCode, byte flags, int stream)
    {
        var type = (Http2FrameType)typeCode;
        var bytes = new byte[9];
        Http2FrameHeader.Write(bytes, length, type, flags, stream);
        Http2FrameHeader.TryRead(new ReadOnlySequence<byte>(bytes), out var h).Should().BeTrue();
        (h.Length, h.Type, h.Flags, h.StreamId).Should().Be((length, type, flags, stream));
    }

    [Fact]
    public void Reserved_bit_is_ignored_on_read_and_cleared_on_write()
    {
        byte[] bytes = [0, 0, 0, 1, 0, 0x80, 0, 0, 3];
        Http2FrameHeader.TryRead(new ReadOnlySequence<byte>(bytes), out var h).Should().BeTrue();
        h.StreamId.Should().Be(3);
        var written = new byte[9];
        Http2FrameHeader.Write(written, 0, Http2FrameType.Data, 0, 3);
        (written[5] & 0x80).Should().Be(0);
    }

    [Fact]
    public void Header_split_across_segments_is_read()
    {
        byte[] bytes = [0, 0x40, 0, 0, 1, 0, 0, 0, 5];
        var first = new Segment(bytes.AsMemory(0, 4));
        var last = first.Append(bytes.AsMemory(4));
        Http2FrameHeader.TryRead(new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length), out var h).Should().BeTrue();
        (h.Length, h.Type, h.Flags, h.StreamId).Should().Be((16384, Http2FrameType.Data, (byte)1, 5));
    }

    [Fact]
    public void Fewer_than_nine_octets_is_incomplete()
        => Http2FrameHeader.TryRead(new ReadOnlySequence<byte>(new byte[8]), out _).Should().BeFalse();

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
