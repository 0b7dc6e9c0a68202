using Hyperion.Http2.Hpack;

namespace Hyperion.Tests.Http2.Hpack;

public class HpackIntegerTests
{
    [Theory]
    [InlineData(10, 5, "0a")]        // RFC 7541 C.1.1
    [InlineData(1337, 5, "1f9a0a")]  // RFC 7541 C.1.2
    [InlineData(42, 8, "2a")]        // RFC 7541 C.1.3
    [InlineData(31, 5, "1f00")]      // exactly 2^N-1 needs a zero continuation octet
    [InlineData(0, 1, "00")]
    [InlineData(127, 7, "7f00")]
    [InlineData(int.MaxValue, 1, "01feffffff07")]
    [InlineData(int.MaxValue, 8, "ff80feffff07")]
    public void Encodes_and_decodes_rfc_examples_and_edges(int value, int prefixBits, string hex)
    {
        var buffer = new byte[HpackInteger.MaxEncodedLength];
        int n = HpackInteger.Encode(buffer, value, prefixBits, 0);
        Hpack.ToHex(buffer.AsSpan(0, n)).Should().Be(hex);

        int pos = 0;
        HpackInteger.Decode(Hpack.Hex(hex), ref pos, prefixBits).Should().Be(value);
        pos.Should().Be(n);
    }

    [Fact]
    public void Prefix_flags_are_kept_and_ignored_on_decode()
    {
        var buffer = new byte[HpackInteger.MaxEncodedLength];
        int n = HpackInteger.Encode(buffer, 1337, 5, 0xE0);
        Hpack.ToHex(buffer.AsSpan(0, n)).Should().Be("ff9a0a");
        int pos = 0;
        HpackInteger.Decode(buffer.AsSpan(0, n), ref pos, 5).Should().Be(1337);
    }

    [Fact]
    public void Values_round_trip_for_every_prefix()
    {
        var random = new Random(1);
        var buffer = new byte[HpackInteger.MaxEncodedLength + 1];
        for (int prefix = 1; prefix <= 8; prefix++)
        {
            for (int i = 0; i < 2_000; i++)
            {
                int value = i < 300 ? i : random.Next(0, int.MaxValue);
                int n = HpackInteger.Encode(buffer, value, prefix, 0);
                buffer[n] = 0x55; // trailing data must be left alone
                int pos = 0;
                HpackInteger.Decode(buffer, ref pos, prefix).Should().Be(value);
                pos.Should().Be(n);
            }
        }
    }

    public static TheoryData<string, int, string> Malformed() => new()
    {
        { "", 5, "empty input" },
        { "1f", 5, "prefix full, continuation missing" },
        { "1f9a", 5, "continuation bit set on the last octet" },
        { "ff80808080", 8, "truncated after four continuation octets" },
        { "0180808080808000", 1, "six continuation octets (zero padding)" },
        { "01ffffffff07", 1, "2^31 exceeds int32" },
        { "ff81feffff07", 8, "int32 max + 1" },
        { "ffffffffff0f", 8, "35-bit value" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_integers_are_rejected(string hex, int prefixBits, string reason)
    {
        byte[] input = Hpack.Hex(hex);
        var act = () =>
        {
            int pos = 0;
            return HpackInteger.Decode(input, ref pos, prefixBits);
        };
        act.Should().Throw<HpackDecodingException>(reason);
    }
}
