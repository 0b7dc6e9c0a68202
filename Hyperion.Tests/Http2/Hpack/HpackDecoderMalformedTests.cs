using System.Buffers;
using Hyperion.Http2.Hpack;

namespace Hyperion.Tests.Http2.Hpack;

/// <summary>Blocks a decoder must reject with COMPRESSION_ERROR (RFC 9113 §4.3); one row per case.</summary>
public class HpackDecoderMalformedTests
{
    public static TheoryData<string, string> MalformedBlocks() => new()
    {
        // Integers (RFC 7541 §5.1)
        { "ff", "indexed field, index integer truncated" },
        { "ff8080", "indexed field, continuation never ends" },
        { "ff ffffffff0f", "index overflows int32" },
        { "ff 808080808000", "six continuation octets" },
        { "7f", "literal with indexing, name index truncated" },
        { "3f", "size update truncated" },
        { "3fe1ffffffff0f", "size update overflows int32" },

        // Indices (§2.3.3, §6.1)
        { "80", "indexed field with index 0" },
        { "be", "index 62 with an empty dynamic table" },
        { "ff00", "index 127 beyond both tables" },
        { "ff80feffff07", "index int32 max" },
        { "7e 0161", "literal with indexing, name index 62 with an empty dynamic table" },
        { "0f 3001 61", "literal without indexing, name index 63 with an empty dynamic table" },
        { "1f 3001 61", "never-indexed literal, name index 63 with an empty dynamic table" },
        { "400a 6375 7374 6f6d 2d6b 6579 0161 bf", "index 63 when the dynamic table has one entry" },

        // Dynamic table size updates (§4.2, §6.3)
        { "3fe21f", "size update to 4097, above SETTINGS_HEADER_TABLE_SIZE" },
        { "82 20", "size update after a field" },
        { "20 82 3f01", "size update after a field, even after a valid one" },

        // String literals (§5.2)
        { "00", "literal name missing" },
        { "0003 6162", "name length beyond the block" },
        { "00 0161", "value missing" },
        { "00 0161 05 6162", "value length beyond the block" },
        { "00 7f", "string length integer truncated" },
        { "00 7fffffffff07 61", "string length overflows int32" },
        { "04 7f", "value length integer truncated after an indexed name" },

        // Huffman (§5.2)
        { "00 81ff 0161", "Huffman name ends inside a code (8 ones)" },
        { "04 84ffffffff", "Huffman value contains EOS" },
        { "04 821fff", "Huffman padding longer than 7 bits" },
        { "04 811d", "Huffman padding not all ones" },
        { "04 8100", "Huffman padding of zeros" },
    };

    [Theory]
    [MemberData(nameof(MalformedBlocks))]
    public void Malformed_block_is_a_decoding_error(string hex, string reason)
    {
        var decoder = new HpackDecoder();
        var act = () => Hpack.Decode(decoder, Hpack.Hex(hex));
        act.Should().Throw<HpackDecodingException>(reason);
    }

    [Theory]
    [InlineData("00 0a" + "6161616161616161 6161 00", 9)] // raw name of 10 bytes, limit 9
    [InlineData("00 0161 0a" + "6161616161616161 6161", 9)] // raw value of 10 bytes
    public void String_longer_than_the_header_list_limit_makes_the_list_too_large(string hex, int limit)
    {
        // RFC 9113 §10.5.1: the block is still decodable, so the list is refused and the connection may live on.
        var decoder = new HpackDecoder(maxHeaderListSize: limit);
        var act = () => Hpack.Decode(decoder, Hpack.Hex(hex));
        act.Should().Throw<HeaderListTooLargeException>();
    }

    [Fact]
    public void String_claiming_more_than_the_block_holds_is_a_decoding_error()
    {
        // Claims ~16 MB: rejected before anything is read or allocated.
        var decoder = new HpackDecoder(maxHeaderListSize: 1_000_000);
        var act = () => Hpack.Decode(decoder, Hpack.Hex("00 7f f0ffff07"));
        act.Should().Throw<HpackDecodingException>().WithMessage("*end*");
    }

    [Fact]
    public void Crafted_lengths_do_not_make_the_decoder_allocate()
    {
        var decoder = new HpackDecoder(maxHeaderListSize: 32 * 1024);
        Hpack.Decode(decoder, Hpack.Hex("82")); // warm up

        // A raw and a Huffman string each claiming ~16 MB, and one within the limit but past the block's end.
        string[] blocks = ["00 7f f0ffff07 61", "00 ff f0ffff07 61", "00 ff e0ff01 61"];
        long before = GC.GetAllocatedBytesForCurrentThread();
        foreach (string hex in blocks)
        {
            var act = () => decoder.Decode(Hpack.Hex(hex), new CountingSink());
            act.Should().Throw<HpackDecodingException>();
        }

        // Exceptions, hex arrays and assertions cost a few KB; a buffer sized from the claims would be megabytes.
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(256 * 1024);
    }

    [Fact]
    public void Size_update_at_the_start_is_accepted_and_applied()
    {
        var decoder = new HpackDecoder();
        Hpack.Decode(decoder, Hpack.Hex("400a 6375 7374 6f6d 2d6b 6579 0161")); // custom-key: a (size 43)
        decoder.DynamicTable.Count.Should().Be(1);

        // Two updates in a row (0 then 4096) then a field: the table is emptied and keeps its maximum.
        Hpack.Decode(decoder, Hpack.Hex("20 3fe11f 82")).Should().Equal((":method", "GET"));
        decoder.DynamicTable.Count.Should().Be(0);
        decoder.DynamicTable.MaxSize.Should().Be(4096);
    }

    [Fact]
    public void Lowered_setting_requires_a_size_update_in_the_next_block()
    {
        var decoder = new HpackDecoder();
        decoder.MaxDynamicTableSize = 100;

        var withoutUpdate = () => Hpack.Decode(decoder, Hpack.Hex("82"));
        withoutUpdate.Should().Throw<HpackDecodingException>().WithMessage("*size update*");

        var second = new HpackDecoder { MaxDynamicTableSize = 100 };
        var aboveNewLimit = () => Hpack.Decode(second, Hpack.Hex("3f46 82")); // 101
        aboveNewLimit.Should().Throw<HpackDecodingException>();

        var third = new HpackDecoder { MaxDynamicTableSize = 100 };
        Hpack.Decode(third, Hpack.Hex("3f45 82")).Should().Equal((":method", "GET")); // 100
        Hpack.Decode(third, Hpack.Hex("82")).Should().Equal((":method", "GET"));
        third.DynamicTable.MaxSize.Should().Be(100);
    }

    [Fact]
    public void Entry_larger_than_the_table_empties_it()
    {
        var decoder = new HpackDecoder(maxDynamicTableSize: 64);
        Hpack.Decode(decoder, Hpack.Hex("4001 61 0162")); // a: b (34)
        decoder.DynamicTable.Count.Should().Be(1);

        // name 10 + value 30 + 32 = 72 > 64: RFC 7541 §4.4, the table ends up empty, the field still decodes.
        string value = string.Concat(Enumerable.Repeat("63", 30));
        Hpack.Decode(decoder, Hpack.Hex("400a 6375 7374 6f6d 2d6b 6579 1e" + value))
            .Should().Equal(("custom-key", new string('c', 30)));
        decoder.DynamicTable.Count.Should().Be(0);
        decoder.DynamicTable.Size.Should().Be(0);
    }

    [Fact]
    public void Literal_may_reuse_the_name_of_the_entry_it_evicts()
    {
        // RFC 7541 §4.4: the referenced name must survive the eviction the new entry causes.
        var decoder = new HpackDecoder(maxDynamicTableSize: 40);
        Hpack.Decode(decoder, Hpack.Hex("4003 616263 0178")); // abc: x (36)
        Hpack.Decode(decoder, Hpack.Hex("7e 0179")).Should().Equal(("abc", "y")); // name = index 62, evicts it
        Hpack.Table(decoder.DynamicTable).Should().Equal(("abc", "y"));
    }

    [Fact]
    public void Empty_block_decodes_to_nothing()
    {
        var decoder = new HpackDecoder();
        Hpack.Decode(decoder, []).Should().BeEmpty();
        var sink = new CollectingSink();
        decoder.Decode(ReadOnlySequence<byte>.Empty, sink);
        sink.Fields.Should().BeEmpty();
    }
}
