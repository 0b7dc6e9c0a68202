using System.Numerics;
using System.Text;
using Hyperion.Http2.Hpack;

namespace Hyperion.Tests.Http2.Hpack;

public class HuffmanTests
{
    [Fact]
    public void Code_table_is_a_complete_prefix_code()
    {
        // Kraft equality: sum of 2^-len over all 257 symbols is exactly 1 (scaled by 2^30, the longest code).
        BigInteger kraft = 0;
        for (int s = 0; s <= Huffman.EosSymbol; s++)
        {
            Huffman.CodeLength(s).Should().BeInRange(5, 30);
            Huffman.Code(s).Should().BeLessThan(1u << Huffman.CodeLength(s));
            kraft += BigInteger.One << (30 - Huffman.CodeLength(s));
        }

        kraft.Should().Be(BigInteger.One << 30);

        // No code is a prefix of another.
        for (int a = 0; a <= Huffman.EosSymbol; a++)
        {
            for (int b = 0; b <= Huffman.EosSymbol; b++)
            {
                int la = Huffman.CodeLength(a);
                int lb = Huffman.CodeLength(b);
                if (a != b && la <= lb)
                {
                    (Huffman.Code(b) >> (lb - la)).Should().NotBe(Huffman.Code(a), $"code {a} must not prefix code {b}");
                }
            }
        }
    }

    [Fact]
    public void Code_table_is_canonical_as_appendix_b_is()
    {
        // Appendix B assigns codes in order of (length, symbol); recomputing them catches a mistyped row.
        var order = Enumerable.Range(0, 257).OrderBy(Huffman.CodeLength).ThenBy(s => s).ToArray();
        uint code = 0;
        for (int i = 0; i < order.Length; i++)
        {
            if (i > 0)
            {
                code = (code + 1) << (Huffman.CodeLength(order[i]) - Huffman.CodeLength(order[i - 1]));
            }

            Huffman.Code(order[i]).Should().Be(code, $"symbol {order[i]}");
        }
    }

    [Theory]
    [InlineData(0, 0x1ff8u, 13)]
    [InlineData(10, 0x3ffffffcu, 30)]
    [InlineData(' ', 0x14u, 6)]
    [InlineData('0', 0x0u, 5)]
    [InlineData('a', 0x3u, 5)]
    [InlineData('\\', 0x7fff0u, 19)]
    [InlineData(255, 0x3ffffeeu, 26)]
    [InlineData(256, 0x3fffffffu, 30)]
    public void Spot_checks_against_appendix_b(int symbol, uint code, int length)
    {
        Huffman.Code(symbol).Should().Be(code);
        Huffman.CodeLength(symbol).Should().Be(length);
    }

    [Theory]
    [InlineData("www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff")]
    [InlineData("no-cache", "a8eb 1064 9cbf")]
    [InlineData("custom-key", "25a8 49e9 5ba9 7d7f")]
    [InlineData("custom-value", "25a8 49e9 5bb8 e8b4 bf")]
    [InlineData("302", "6402")]
    [InlineData("private", "aec3 771a 4b")]
    [InlineData("Mon, 21 Oct 2013 20:13:21 GMT", "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff")]
    [InlineData("https://www.example.com", "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3")]
    [InlineData("gzip", "9bd9 ab")]
    [InlineData("foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1", "94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07")]
    public void Rfc7541_appendix_c_strings_encode_and_decode(string text, string hex)
    {
        byte[] plain = Encoding.ASCII.GetBytes(text);
        byte[] coded = Hpack.Hex(hex);

        Huffman.EncodedLength(plain).Should().Be(coded.Length);
        var encoded = new byte[coded.Length];
        Huffman.TryEncode(plain, encoded, out int written).Should().BeTrue();
        Hpack.ToHex(encoded.AsSpan(0, written)).Should().Be(Hpack.ToHex(coded));

        var decoded = new byte[plain.Length];
        int n = Huffman.Decode(coded, decoded);
        Encoding.ASCII.GetString(decoded, 0, n).Should().Be(text);
    }

    [Fact]
    public void Every_byte_value_round_trips_alone_and_together()
    {
        var all = new byte[256];
        for (int b = 0; b < 256; b++)
        {
            all[b] = (byte)b;
            RoundTrip([(byte)b]).Should().Equal((byte)b);
        }

        RoundTrip(all).Should().Equal(all);
        RoundTrip([]).Should().BeEmpty();
    }

    [Fact]
    public void Random_strings_round_trip()
    {
        var random = new Random(7541);
        for (int i = 0; i < 2_000; i++)
        {
            var input = new byte[random.Next(0, 300)];
            if (i % 2 == 0)
            {
                random.NextBytes(input);
            }
            else
            {
                // Header-like text: mostly short codes, where padding lengths vary most.
                const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_./:;=, ABCDEFXYZ";
                for (int j = 0; j < input.Length; j++)
                {
                    input[j] = (byte)Alphabet[random.Next(Alphabet.Length)];
                }
            }

            RoundTrip(input).Should().Equal(input);
        }
    }

    public static TheoryData<string, string> MalformedInputs() => new()
    {
        // EOS (30 ones) followed by padding: the decoder must not accept EOS inside a string.
        { "ff ff ff ff", "EOS" },
        { "ff ff ff fc", "EOS as padding of more than 7 bits" },
        // 'a' (00011) then 8 bits of ones: padding longer than 7 bits.
        { "1f ff", "padding of 11 bits" },
        // '0' (00000) + '0' (00000) + padding 000000: padding not all ones.
        { "00 00", "zero padding" },
        // 'a' (00011) + padding 101: not the EOS prefix.
        { "1d", "padding 101" },
        // A whole octet of ones after a complete symbol.
        { "07 ff", "full octet padding" },
        { "fe", "incomplete code that is not all ones" },
    };

    [Theory]
    [MemberData(nameof(MalformedInputs))]
    public void Malformed_input_is_rejected(string hex, string reason)
    {
        byte[] input = Hpack.Hex(hex);
        var act = () => Huffman.Decode(input, new byte[64]);
        act.Should().Throw<HpackDecodingException>(reason);
    }

    [Fact]
    public void Output_longer_than_the_destination_is_rejected()
    {
        byte[] coded = Hpack.Hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff"); // www.example.com
        var act = () => Huffman.Decode(coded, new byte[14]);
        act.Should().Throw<HpackDecodingException>();
        Huffman.Decode(coded, new byte[15]).Should().Be(15);
    }

    [Fact]
    public void Encode_reports_a_destination_too_small()
    {
        byte[] plain = Encoding.ASCII.GetBytes("www.example.com");
        Huffman.TryEncode(plain, new byte[11], out _).Should().BeFalse();
        Huffman.TryEncode(plain, new byte[12], out int written).Should().BeTrue();
        written.Should().Be(12);
    }

    private static byte[] RoundTrip(byte[] input)
    {
        var encoded = new byte[Huffman.EncodedLength(input)];
        Huffman.TryEncode(input, encoded, out int written).Should().BeTrue();
        written.Should().Be(encoded.Length);
        var decoded = new byte[input.Length];
        int n = Huffman.Decode(encoded, decoded);
        return decoded[..n];
    }
}
