using GrpcLoad;

namespace Hyperion.Tests.Bench;

/// <summary>
/// The raw load client's message splitter (bench/tools/GrpcLoad): gRPC's length-prefixed messages (PROTOCOL-HTTP2.md)
/// counted once each whatever DATA frames they arrive in.
/// </summary>
public class GrpcMessageReaderTests
{
    private static readonly byte[] Reply = "\x0a\x0cHello, world"u8.ToArray();

    private static byte[] Framed(byte[] message, byte flag = 0) => [flag, 0, 0, (byte)(message.Length >> 8), (byte)message.Length, .. message];

    private static readonly byte[] ThreeReplies = [.. Framed(Reply), .. Framed(Reply), .. Framed(Reply)];

    [Fact]
    public void Many_messages_in_one_frame_are_each_counted()
    {
        var reader = default(GrpcMessageReader);

        reader.Feed(ThreeReplies, Reply).Should().Be(3);

        reader.Mismatch.Should().BeFalse();
        reader.InsideMessage.Should().BeFalse();
    }

    [Fact]
    public void Messages_split_at_every_point_are_counted_once()
    {
        for (int split = 0; split <= ThreeReplies.Length; split++)
        {
            var reader = default(GrpcMessageReader);

            int first = reader.Feed(ThreeReplies.AsSpan(0, split), Reply);
            bool inside = reader.InsideMessage;
            int second = reader.Feed(ThreeReplies.AsSpan(split), Reply);

            (first + second).Should().Be(3, "split at {0}", split);
            first.Should().Be(split / Framed(Reply).Length, "split at {0}", split);
            inside.Should().Be(split % Framed(Reply).Length != 0, "split at {0}", split);
            reader.Mismatch.Should().BeFalse("split at {0}", split);
        }
    }

    [Fact]
    public void A_message_fed_one_byte_at_a_time_completes_on_its_last_byte()
    {
        var reader = default(GrpcMessageReader);
        byte[] framed = Framed(Reply);

        var counts = framed.Select(b => reader.Feed([b], Reply)).ToArray();

        counts[..^1].Should().OnlyContain(c => c == 0);
        counts[^1].Should().Be(1);
    }

    [Fact]
    public void An_empty_message_is_a_message()
    {
        var reader = default(GrpcMessageReader);

        reader.Feed([0, 0, 0, 0, 0, 0, 0, 0, 0, 0], []).Should().Be(2);

        reader.Mismatch.Should().BeFalse();
    }

    public static TheoryData<byte[]> WrongReplies => new()
    {
        Framed("\x0a\x0cHello, World"u8.ToArray()),    // other bytes, same length
        Framed("\x0a\x0bHello, worl"u8.ToArray()),     // shorter
        Framed([.. Reply, 0x10, 0x01]),                  // longer: the expected reply is a prefix of it
        Framed(Reply, flag: 1),                          // the compressed flag, though we offered no encoding
    };

    [Theory]
    [MemberData(nameof(WrongReplies))]
    public void A_reply_other_than_the_expected_one_is_a_mismatch_but_still_counted(byte[] framed)
    {
        var reader = default(GrpcMessageReader);

        reader.Feed([.. Framed(Reply), .. framed], Reply).Should().Be(2);

        reader.Mismatch.Should().BeTrue();
    }

    [Fact]
    public void Without_an_expected_reply_any_message_matches()
    {
        var reader = default(GrpcMessageReader);

        reader.Feed([.. Framed(Reply), .. Framed([1, 2, 3])], expected: null).Should().Be(2);

        reader.Mismatch.Should().BeFalse();
    }
}
