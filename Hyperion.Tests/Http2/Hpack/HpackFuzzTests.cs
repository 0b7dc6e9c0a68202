using System.Buffers;
using Hyperion.Http2.Hpack;

namespace Hyperion.Tests.Http2.Hpack;

/// <summary>
/// Random and mutated input: the decoder either decodes or throws one of its two exceptions — never anything else,
/// never a hang — and the Huffman decoder agrees with a plain bit-by-bit walk of Appendix B on every input.
/// </summary>
public class HpackFuzzTests
{
    [Fact]
    public void Huffman_decoder_agrees_with_a_bit_by_bit_reference()
    {
        var codes = new Dictionary<(int Length, uint Code), int>();
        for (int s = 0; s <= Huffman.EosSymbol; s++)
        {
            codes.Add((Huffman.CodeLength(s), Huffman.Code(s)), s);
        }

        var random = new Random(5);
        var destination = new byte[1024];
        for (int i = 0; i < 20_000; i++)
        {
            byte[] input;
            if (i % 2 == 0)
            {
                input = new byte[random.Next(0, 12)];
                random.NextBytes(input);
            }
            else
            {
                // A valid encoding, then damaged: a flipped bit, a dropped or extra trailing octet.
                var text = new byte[random.Next(0, 20)];
                random.NextBytes(text);
                input = new byte[Huffman.EncodedLength(text)];
                Huffman.TryEncode(text, input, out _);
                switch (random.Next(4))
                {
                    case 0 when input.Length > 0:
                        input[random.Next(input.Length)] ^= (byte)(1 << random.Next(8));
                        break;
                    case 1 when input.Length > 0:
                        input = input[..^1];
                        break;
                    case 2:
                        input = [.. input, (byte)random.Next(256)];
                        break;
                }
            }

            byte[]? expected = ReferenceDecode(input, codes);
            byte[]? actual;
            try
            {
                actual = destination[..Huffman.Decode(input, destination)];
            }
            catch (HpackDecodingException)
            {
                actual = null;
            }

            if (expected is null)
            {
                actual.Should().BeNull($"input {Hpack.ToHex(input)} is invalid");
            }
            else
            {
                actual.Should().Equal(expected, $"input {Hpack.ToHex(input)}");
            }
        }
    }

    [Fact]
    public void Random_and_mutated_blocks_decode_or_fail_cleanly()
    {
        var random = new Random(6);
        byte[][] seeds =
        [
            Hpack.Hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"),
            Hpack.Hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"),
            Hpack.Hex("4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3"),
            Hpack.Hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"),
            Hpack.Hex("3fe101 1008 7061 7373 776f 7264 0673 6563 7265 74"),
        ];

        var persistent = new HpackDecoder(maxDynamicTableSize: 4096, maxHeaderListSize: 4096);
        var sink = new CountingSink();
        int decoded = 0;
        int rejected = 0;
        for (int i = 0; i < 30_000; i++)
        {
            byte[] block;
            if (i % 3 == 0)
            {
                block = new byte[random.Next(0, 40)];
                random.NextBytes(block);
            }
            else
            {
                block = (byte[])seeds[random.Next(seeds.Length)].Clone();
                for (int m = random.Next(1, 4); m > 0; m--)
                {
                    int at = random.Next(block.Length);
                    switch (random.Next(3))
                    {
                        case 0:
                            block[at] ^= (byte)(1 << random.Next(8));
                            break;
                        case 1:
                            block[at] = (byte)random.Next(256);
                            break;
                        default:
                            block = block[..at];
                            break;
                    }

                    if (block.Length == 0)
                    {
                        break;
                    }
                }
            }

            // A fresh decoder sees each block alone; the persistent one carries whatever table the previous
            // blocks built (as a connection would have, until its first decoding error).
            foreach (var decoder in new[] { new HpackDecoder(4096, 4096), persistent })
            {
                try
                {
                    decoder.Decode(new ReadOnlySequence<byte>(block), sink);
                    decoded++;
                }
                catch (HpackDecodingException)
                {
                    rejected++;
                }
                catch (HeaderListTooLargeException)
                {
                    rejected++;
                }
            }

            persistent.DynamicTable.Size.Should().BeLessThanOrEqualTo(persistent.DynamicTable.MaxSize);
        }

        decoded.Should().BeGreaterThan(1_000, "mutations that keep a block valid must still decode");
        rejected.Should().BeGreaterThan(1_000);
    }

    // Walks the code one bit at a time; null when the input is invalid (EOS, or padding that is > 7 bits or not ones).
    private static byte[]? ReferenceDecode(byte[] input, Dictionary<(int Length, uint Code), int> codes)
    {
        var output = new List<byte>();
        uint code = 0;
        int length = 0;
        foreach (byte b in input)
        {
            for (int bit = 7; bit >= 0; bit--)
            {
                code = (code << 1) | (uint)((b >> bit) & 1);
                length++;
                if (codes.TryGetValue((length, code), out int symbol))
                {
                    if (symbol == Huffman.EosSymbol)
                    {
                        return null;
                    }

                    output.Add((byte)symbol);
                    code = 0;
                    length = 0;
                }
            }
        }

        bool paddingOk = length <= 7 && code == (1u << length) - 1;
        return paddingOk ? [.. output] : null;
    }
}
