using System.Buffers;
using System.Text;
using Hyperion.Http2.Hpack;

namespace Hyperion.Tests.Http2.Hpack;

/// <summary>
/// The header-list limit counts decoded sizes (RFC 9113 §6.5.2), is reported only after the whole block so the
/// dynamic table stays in sync, and leaves the decoder usable.
/// </summary>
public class HpackHeaderListLimitTests
{
    [Fact]
    public void Hpack_bomb_is_caught_and_the_decoder_stays_usable()
    {
        const int Limit = 32 * 1024;
        var decoder = new HpackDecoder(maxDynamicTableSize: 4096, maxHeaderListSize: Limit);

        // One 4 KB entry (name "x", value of 4000 bytes), then 1000 one-octet references to it: a block of about
        // 5 KB that expands to about 4 MB.
        var block = new List<byte>();
        block.AddRange(Hpack.Hex("4001 78 7f a11e")); // literal with indexing, value length 127 + 3873 = 4000
        block.AddRange(Enumerable.Repeat((byte)'v', 4000));
        block.AddRange(Enumerable.Repeat((byte)0xBE, 1000)); // index 62

        var sink = new CountingSink();
        var act = () => decoder.Decode(new ReadOnlySequence<byte>(block.ToArray()), sink);
        act.Should().Throw<HeaderListTooLargeException>();

        // The sink saw only what fitted: 8 fields of 4033 bytes = 32264 <= 32768.
        sink.Count.Should().Be(Limit / 4033);
        decoder.DynamicTable.Count.Should().Be(1);

        // Next block on the same connection still references the entry correctly.
        Hpack.Decode(decoder, Hpack.Hex("be 82")).Should().Equal(("x", new string('v', 4000)), (":method", "GET"));
    }

    [Fact]
    public void Table_updates_after_the_limit_are_still_applied()
    {
        var decoder = new HpackDecoder(maxHeaderListSize: 100);

        // 3 fields of 1 + 40 + 32 = 73 bytes each, all with indexing; the second one crosses the limit.
        string value = string.Concat(Enumerable.Repeat("76", 40));
        byte[] block = Hpack.Hex("4001 61 28" + value + "4001 62 28" + value + "4001 63 28" + value);
        var sink = new CollectingSink();
        var act = () => decoder.Decode(new ReadOnlySequence<byte>(block), sink);
        act.Should().Throw<HeaderListTooLargeException>();

        sink.Fields.Select(f => f.Name).Should().Equal("a");
        Hpack.Table(decoder.DynamicTable).Select(e => e.Name).Should().Equal("c", "b", "a");
        Hpack.Decode(decoder, Hpack.Hex("bf")).Should().Equal(("b", new string('v', 40)));
    }

    [Fact]
    public void List_exactly_at_the_limit_is_accepted()
    {
        // ":method: GET" counts 7 + 3 + 32 = 42.
        var decoder = new HpackDecoder(maxHeaderListSize: 84);
        Hpack.Decode(decoder, Hpack.Hex("8282")).Should().HaveCount(2);

        var act = () => Hpack.Decode(decoder, Hpack.Hex("828282"));
        act.Should().Throw<HeaderListTooLargeException>();
        Hpack.Decode(decoder, Hpack.Hex("82")).Should().HaveCount(1);
    }

    [Fact]
    public void Huffman_string_is_counted_by_its_decoded_length()
    {
        // 20 octets of '0' codes (5 bits each) are within a limit of 30 encoded, but decode to 32 bytes: too large.
        var decoder = new HpackDecoder(maxHeaderListSize: 30);
        byte[] block = [0x00, 0x01, (byte)'a', 0x80 | 20, .. new byte[20]];
        var act = () => Hpack.Decode(decoder, block);
        act.Should().Throw<HeaderListTooLargeException>();

        var roomy = new HpackDecoder(maxHeaderListSize: 100);
        Hpack.Decode(roomy, block).Should().Equal(("a", new string('0', 32)));
    }

    [Fact]
    public void Decoder_reuses_its_buffers_for_long_huffman_strings()
    {
        var decoder = new HpackDecoder(maxHeaderListSize: 64 * 1024);
        var value = new string('a', 20_000);
        var encoder = new HpackEncoder();
        var output = new ArrayBufferWriter<byte>();
        encoder.EncodeHeader(output, "x-long"u8, Encoding.ASCII.GetBytes(value));
        Hpack.Decode(decoder, output.WrittenSpan.ToArray()).Should().Equal(("x-long", value));
    }
}
