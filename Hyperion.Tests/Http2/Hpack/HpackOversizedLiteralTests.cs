using System.Text;
using Hyperion.Http2.Hpack;

namespace Hyperion.Tests.Http2.Hpack;

/// <summary>
/// A single string longer than the header list limit (RFC 9113 §10.5.1): the decoder reads past it, reports the list
/// as too large and stays in step with the encoder, emptying the table exactly as inserting it would (RFC 7541 §4.4).
/// </summary>
public class HpackOversizedLiteralTests
{
    private const int Limit = 1024;

    /// <summary>A literal field with a raw name and a raw or Huffman value (RFC 7541 §6.2.1, §6.2.2).</summary>
    private static byte[] Literal(string name, string value, bool huffman, bool index)
    {
        var bytes = new List<byte> { (byte)(index ? 0x40 : 0x00) };
        AddString(bytes, Encoding.ASCII.GetBytes(name), huffman: false);
        AddString(bytes, Encoding.ASCII.GetBytes(value), huffman);
        return [.. bytes];
    }

    private static void AddString(List<byte> bytes, byte[] s, bool huffman)
    {
        byte[] payload = s;
        if (huffman)
        {
            payload = new byte[Huffman.EncodedLength(s)];
            Huffman.TryEncode(s, payload, out _).Should().BeTrue();
        }

        var prefix = new byte[8];
        int n = HpackInteger.Encode(prefix, payload.Length, 7, huffman ? (byte)0x80 : (byte)0);
        bytes.AddRange(prefix[..n]);
        bytes.AddRange(payload);
    }

    private static void ExpectTooLarge(HpackDecoder decoder, byte[] block)
    {
        var act = () => Hpack.Decode(decoder, block);
        act.Should().Throw<HeaderListTooLargeException>();
    }

    [Theory]
    [InlineData(false, 1025)]     // raw, just past the limit: returned in place
    [InlineData(false, 100_000)]
    [InlineData(true, 1025)]      // Huffman within the table's size: decoded, then counted
    [InlineData(true, 100_000)]   // Huffman past list and table: length found without keeping it
    public void A_value_longer_than_the_limit_is_too_large_and_the_next_block_decodes(bool huffman, int length)
    {
        var decoder = new HpackDecoder(4096, Limit);
        Hpack.Decode(decoder, Literal("x-keep", "kept", huffman: false, index: true));
        ExpectTooLarge(decoder, [0x82, .. Literal("x-big", new string('a', length), huffman, index: false)]);

        // Not indexed: the table is untouched and a reference to its entry still works.
        Hpack.Decode(decoder, [0x82, 0xBE]).Should().Equal((":method", "GET"), ("x-keep", "kept"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Indexing_an_entry_larger_than_the_table_empties_it(bool huffman)
    {
        var decoder = new HpackDecoder(4096, Limit);
        Hpack.Decode(decoder, Literal("x-keep", "kept", huffman: false, index: true));
        decoder.DynamicTable.Count.Should().Be(1);

        ExpectTooLarge(decoder, Literal("x-big", new string('a', 10_000), huffman, index: true));
        decoder.DynamicTable.Count.Should().Be(0);
        decoder.DynamicTable.Size.Should().Be(0);

        // The encoder's table is empty too: index 62 no longer exists, a new entry takes it.
        var act = () => Hpack.Decode(decoder, [0xBE]);
        act.Should().Throw<HpackDecodingException>();
        var fresh = new HpackDecoder(4096, Limit);
        Hpack.Decode(fresh, Literal("x-keep", "kept", huffman: false, index: true));
        ExpectTooLarge(fresh, Literal("x-big", new string('a', 10_000), huffman, index: true));
        Hpack.Decode(fresh, Literal("x-new", "v", huffman: false, index: true));
        Hpack.Decode(fresh, [0xBE]).Should().Equal(("x-new", "v"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_entry_over_the_limit_that_fits_a_larger_table_is_kept(bool huffman)
    {
        // The table (8192) is larger than the list limit: the entry must be stored, since the encoder stores it.
        var decoder = new HpackDecoder(8192, Limit);
        ExpectTooLarge(decoder, Literal("x-big", new string('a', 5000), huffman, index: true));
        Hpack.Table(decoder.DynamicTable).Should().Equal(("x-big", new string('a', 5000)));
        ExpectTooLarge(decoder, [0xBE]);
        Hpack.Decode(decoder, [0x82]).Should().Equal((":method", "GET"));
    }

    [Fact]
    public void A_huffman_literal_too_long_to_keep_costs_no_buffer_of_its_size()
    {
        var decoder = new HpackDecoder(4096, Limit);
        var block = Literal("x-big", new string('a', 200_000), huffman: true, index: true);
        ExpectTooLarge(decoder, block); // warm up
        var sink = new CountingSink();
        long before = GC.GetAllocatedBytesForCurrentThread();
        bool tooLarge = false;
        try
        {
            decoder.Decode(block, sink);
        }
        catch (HeaderListTooLargeException)
        {
            tooLarge = true;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        tooLarge.Should().BeTrue();

        // The exception costs a little; a buffer for the 200,000 decoded octets would be far more.
        allocated.Should().BeLessThan(32 * 1024);
    }

    [Fact]
    public void An_invalid_huffman_literal_is_a_decoding_error_even_when_not_kept()
    {
        // 5000 zero octets decode to 8000 '0' symbols (5-bit code 00000); one more zero octet leaves 3 bits of
        // padding that are not ones (RFC 7541 §5.2). Too long to keep, it is still checked.
        byte[] value = new byte[5001];
        var prefix = new byte[8];
        int n = HpackInteger.Encode(prefix, value.Length, 7, 0x80);
        byte[] block = [0x00, 0x01, (byte)'x', .. prefix[..n], .. value];
        var act = () => Hpack.Decode(new HpackDecoder(4096, Limit), block);
        act.Should().Throw<HpackDecodingException>();
    }
}
