using System.Buffers;
using System.Text;
using Hyperion.Http2.Hpack;

namespace Hyperion.Tests.Http2.Hpack;

public class HpackEncoderTests
{
    [Theory]
    [InlineData(200, "88")]
    [InlineData(204, "89")]
    [InlineData(206, "8a")]
    [InlineData(304, "8b")]
    [InlineData(400, "8c")]
    [InlineData(404, "8d")]
    [InlineData(500, "8e")]
    public void Common_statuses_are_one_octet(int status, string hex)
    {
        var encoder = new HpackEncoder();
        var output = new ArrayBufferWriter<byte>();
        encoder.EncodeStatus(output, status);
        Hpack.ToHex(output.WrittenSpan).Should().Be(hex);
        encoder.DynamicTable.Count.Should().Be(0);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(302)]
    [InlineData(418)]
    [InlineData(503)]
    [InlineData(999)]
    public void Other_statuses_use_the_indexed_name(int status)
    {
        var encoder = new HpackEncoder { UseHuffman = false };
        var output = new ArrayBufferWriter<byte>();
        encoder.EncodeStatus(output, status);

        // 01 001000 = literal with indexing, name :status (index 8), then a 3-octet raw value.
        string digits = Hpack.ToHex(Encoding.ASCII.GetBytes(status.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Hpack.ToHex(output.WrittenSpan).Should().Be("4803" + digits);
        Decode(output).Should().Equal((":status", status.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        // The second time it is one octet from the dynamic table.
        output.Clear();
        encoder.EncodeStatus(output, status);
        Hpack.ToHex(output.WrittenSpan).Should().Be("be");
    }

    [Theory]
    [InlineData(99)]
    [InlineData(1000)]
    [InlineData(-1)]
    public void Status_outside_three_digits_is_refused(int status)
    {
        var act = () => new HpackEncoder().EncodeStatus(new ArrayBufferWriter<byte>(), status);
        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Repeated_response_headers_become_one_octet_each()
    {
        var encoder = new HpackEncoder();
        var decoder = new HpackDecoder();
        var first = EncodeResponse(encoder, "2");
        var second = EncodeResponse(encoder, "13");

        Hpack.Decode(decoder, first.WrittenSpan.ToArray()).Should().Equal(
            (":status", "200"), ("content-type", "text/plain"), ("server", "hyperion"), ("content-length", "2"));
        Hpack.Decode(decoder, second.WrittenSpan.ToArray()).Should().Equal(
            (":status", "200"), ("content-type", "text/plain"), ("server", "hyperion"), ("content-length", "13"));

        // 88 | content-type (63) | server (62) | content-length: literal without indexing, name index 28 (0f 0d),
        // value "13" (Huffman, 2 octets).
        Hpack.ToHex(second.WrittenSpan).Should().StartWith("88bfbe0f0d82");
        second.WrittenCount.Should().Be(8);
        Hpack.Table(encoder.DynamicTable).Should().Equal(("server", "hyperion"), ("content-type", "text/plain"));
        Hpack.Table(decoder.DynamicTable).Should().Equal(Hpack.Table(encoder.DynamicTable));
    }

    [Theory]
    [InlineData("content-length", "123")]
    [InlineData("etag", "\"abc\"")]
    [InlineData("location", "/next")]
    [InlineData("set-cookie", "a=b")]
    [InlineData("last-modified", "Wed, 25 Nov 2026 00:00:00 GMT")]
    public void Usually_unique_fields_are_not_indexed_by_default(string name, string value)
    {
        var encoder = new HpackEncoder();
        var output = new ArrayBufferWriter<byte>();
        encoder.EncodeHeader(output, name, value);
        (output.WrittenSpan[0] & 0xF0).Should().Be(0x00, "literal without indexing");
        encoder.DynamicTable.Count.Should().Be(0);
        Decode(output).Should().Equal((name, value));
    }

    [Fact]
    public void Never_indexed_fields_stay_out_of_the_table_and_say_so()
    {
        var encoder = new HpackEncoder { UseHuffman = false };
        var output = new ArrayBufferWriter<byte>();
        encoder.EncodeHeader(output, "authorization"u8, "Bearer x"u8, neverIndex: true);
        encoder.EncodeHeader(output, "x-secret"u8, "s"u8, neverIndex: true);
        encoder.EncodeHeader(output, ":method"u8, "GET"u8, neverIndex: true); // even a full static match

        // 0001 1111 + 8 = index 23 (authorization); 0001 0000 new name; 0001 0010 index 2.
        Hpack.ToHex(output.WrittenSpan).Should().Be(
            "1f08" + "08" + Hpack.ToHex("Bearer x"u8) + "10" + "08" + Hpack.ToHex("x-secret"u8) + "01" + "73" + "12" + "03" + Hpack.ToHex("GET"u8));
        encoder.DynamicTable.Count.Should().Be(0);
        Decode(output).Should().Equal(("authorization", "Bearer x"), ("x-secret", "s"), (":method", "GET"));
    }

    [Fact]
    public void Entries_too_big_for_the_table_are_not_indexed_by_default()
    {
        var encoder = new HpackEncoder();
        var output = new ArrayBufferWriter<byte>();
        encoder.EncodeHeader(output, "x-big", new string('b', 3100));
        encoder.DynamicTable.Count.Should().Be(0);
        encoder.EncodeHeader(output, "x-small", new string('s', 100));
        encoder.DynamicTable.Count.Should().Be(1);
    }

    [Fact]
    public void Indexing_none_keeps_the_table_empty()
    {
        var encoder = new HpackEncoder { Indexing = HpackIndexing.None };
        var output = new ArrayBufferWriter<byte>();
        encoder.EncodeHeader(output, "content-type"u8, "text/html"u8);
        encoder.EncodeHeader(output, "content-type"u8, "text/html"u8);
        encoder.DynamicTable.Count.Should().Be(0);
        Decode(output).Should().HaveCount(2);
    }

    [Fact]
    public void Huffman_is_used_only_when_not_longer()
    {
        var encoder = new HpackEncoder { Indexing = HpackIndexing.None };
        var output = new ArrayBufferWriter<byte>();
        encoder.EncodeHeader(output, "x-a"u8, "\x01\x02\x03"u8); // control bytes have long codes: stays raw
        Hpack.ToHex(output.WrittenSpan).Should().Be("0083" + Hpack.ToHex(HuffmanOf("x-a")) + "03010203");

        output.Clear();
        encoder.EncodeHeader(output, "x-a"u8, "aaaa"u8); // 4 × 5 bits = 3 octets
        Hpack.ToHex(output.WrittenSpan).Should().Be("0083" + Hpack.ToHex(HuffmanOf("x-a")) + "83" + Hpack.ToHex(HuffmanOf("aaaa")));

        output.Clear();
        encoder.EncodeHeader(output, "x-a"u8, ""u8);
        Hpack.ToHex(output.WrittenSpan).Should().EndWith("00");
    }

    [Fact]
    public void String_overload_encodes_latin1()
    {
        var encoder = new HpackEncoder();
        var output = new ArrayBufferWriter<byte>();
        encoder.EncodeHeader(output, "x-name", "caf\u00e9");
        encoder.EncodeHeader(output, new string('n', 200), new string('v', 5000));
        var sink = new CollectingSink();
        new HpackDecoder().Decode(new ReadOnlySequence<byte>(output.WrittenMemory), sink);
        sink.Fields.Should().Equal(("x-name", "caf\u00e9"), (new string('n', 200), new string('v', 5000)));
    }

    [Fact]
    public void No_size_update_when_the_peer_keeps_the_default()
    {
        var encoder = new HpackEncoder();
        encoder.SetPeerMaxTableSize(4096);
        var output = new ArrayBufferWriter<byte>();
        encoder.BeginBlock(output);
        output.WrittenCount.Should().Be(0);
    }

    [Fact]
    public void Shrinking_then_growing_signals_the_smallest_then_the_final_size()
    {
        var encoder = new HpackEncoder(maxDynamicTableSize: 8192);
        var decoder = new HpackDecoder(maxDynamicTableSize: 8192);
        var output = new ArrayBufferWriter<byte>();
        encoder.BeginBlock(output);
        output.WrittenCount.Should().Be(0, "the encoder starts at the protocol default 4096");
        encoder.EncodeHeader(output, "content-type"u8, "text/plain"u8);
        Decode(decoder, output);

        encoder.SetPeerMaxTableSize(100);
        encoder.SetPeerMaxTableSize(0);
        encoder.SetPeerMaxTableSize(2000);
        encoder.DynamicTable.Count.Should().Be(1, "the change waits for the next block");

        output.Clear();
        encoder.BeginBlock(output);
        encoder.DynamicTable.Count.Should().Be(0, "passing through 0 evicted everything");
        encoder.EncodeHeader(output, "content-type"u8, "text/plain"u8);

        // 001 00000 (0), then 001 11111 + 1969 (2000), then the field again as a literal.
        Hpack.ToHex(output.WrittenSpan).Should().StartWith("20" + "3fb10f");
        Decode(decoder, output).Should().Equal(("content-type", "text/plain"));
        decoder.DynamicTable.MaxSize.Should().Be(2000);
        Hpack.Table(decoder.DynamicTable).Should().Equal(Hpack.Table(encoder.DynamicTable));

        output.Clear();
        encoder.BeginBlock(output);
        output.WrittenCount.Should().Be(0, "the update is sent once");
    }

    [Fact]
    public void Size_change_during_a_block_applies_from_the_next_block()
    {
        var encoder = new HpackEncoder();
        var decoder = new HpackDecoder(maxDynamicTableSize: 4096);
        var output = new ArrayBufferWriter<byte>();
        encoder.BeginBlock(output);
        encoder.EncodeHeader(output, "content-type"u8, "text/plain"u8);
        encoder.SetPeerMaxTableSize(0); // SETTINGS processed while this block is being written
        encoder.EncodeHeader(output, "content-type"u8, "text/plain"u8);
        Hpack.ToHex(output.WrittenSpan).Should().EndWith("be", "the entry is still in the peer's table");
        Decode(decoder, output).Should().HaveCount(2);

        output.Clear();
        encoder.BeginBlock(output);
        encoder.EncodeHeader(output, "content-type"u8, "text/plain"u8);
        Hpack.ToHex(output.WrittenSpan).Should().StartWith("20");
        Decode(decoder, output).Should().Equal(("content-type", "text/plain"));
        decoder.DynamicTable.Count.Should().Be(0);
        encoder.DynamicTable.Count.Should().Be(0);
    }

    [Fact]
    public void Growing_only_signals_the_final_size_capped_by_our_maximum()
    {
        var encoder = new HpackEncoder(maxDynamicTableSize: 8192);
        encoder.SetPeerMaxTableSize(65536);
        var output = new ArrayBufferWriter<byte>();
        encoder.BeginBlock(output);
        Hpack.ToHex(output.WrittenSpan).Should().Be("3fe13f"); // 8192 = 31 + 8161
        encoder.DynamicTable.MaxSize.Should().Be(8192);
    }

    [Fact]
    public void Encoder_smaller_than_the_default_announces_its_size_first()
    {
        var encoder = new HpackEncoder(maxDynamicTableSize: 0);
        var output = new ArrayBufferWriter<byte>();
        encoder.BeginBlock(output);
        encoder.EncodeHeader(output, "content-type"u8, "text/plain"u8);
        Hpack.ToHex(output.WrittenSpan).Should().StartWith("20");
        encoder.DynamicTable.Count.Should().Be(0);
        Decode(output).Should().Equal(("content-type", "text/plain"));
    }

    [Fact]
    public void Smaller_setting_applies_after_the_peer_acknowledges_it()
    {
        // Blocks sent before the peer saw our SETTINGS use the default 4096 table (RFC 9113 §6.5.2); after the ACK
        // the peer's first block must shrink the table (RFC 7541 §4.2) and the decoder insists on it.
        var peer = new HpackEncoder();
        var decoder = new HpackDecoder(maxDynamicTableSize: 4096);
        var output = new ArrayBufferWriter<byte>();
        peer.BeginBlock(output);
        peer.EncodeHeader(output, "user-agent", new string('u', 300));
        peer.EncodeHeader(output, "accept"u8, "*/*"u8);
        Decode(decoder, output).Should().HaveCount(2);

        decoder.MaxDynamicTableSize = 256; // our SETTINGS_HEADER_TABLE_SIZE = 256 was acknowledged
        peer.SetPeerMaxTableSize(256);     // and the peer applied it
        output.Clear();
        peer.BeginBlock(output);
        peer.EncodeHeader(output, "accept"u8, "*/*"u8);
        Hpack.ToHex(output.WrittenSpan).Should().StartWith("3fe101");
        Decode(decoder, output).Should().Equal(("accept", "*/*"));
        decoder.DynamicTable.MaxSize.Should().Be(256);
        Hpack.Table(decoder.DynamicTable).Should().Equal(Hpack.Table(peer.DynamicTable));
    }

    [Fact]
    public void Random_header_lists_round_trip_with_table_changes()
    {
        var random = new Random(9113);
        string[] names = ["content-type", "server", "date", "x-id", "cache-control", "vary", "x-a", "x-b", "set-cookie", ":status", "custom"];
        string[] values = ["text/plain", "hyperion", "gzip", "", "private", "a", "bb", "ccc", "no-cache"];
        var encoder = new HpackEncoder(maxDynamicTableSize: 4096);
        var decoder = new HpackDecoder(maxDynamicTableSize: 4096, maxHeaderListSize: 1 << 20);

        for (int block = 0; block < 2_000; block++)
        {
            if (random.Next(20) == 0)
            {
                encoder.SetPeerMaxTableSize(random.Next(3) switch { 0 => 0, 1 => random.Next(0, 300), _ => random.Next(0, 8000) });
            }

            encoder.UseHuffman = random.Next(2) == 0;
            encoder.Indexing = (HpackIndexing)random.Next(3);
            var output = new ArrayBufferWriter<byte>();
            encoder.BeginBlock(output);
            var expected = new List<(string, string)>();
            for (int i = random.Next(0, 12); i > 0; i--)
            {
                string name = names[random.Next(names.Length)];
                string value = random.Next(4) == 0
                    ? new string((char)random.Next(0x20, 0x7F), random.Next(0, 400))
                    : values[random.Next(values.Length)];
                encoder.EncodeHeader(output, name, value, neverIndex: random.Next(10) == 0);
                expected.Add((name, value));
            }

            Hpack.Decode(decoder, output.WrittenSpan.ToArray()).Should().Equal(expected, $"block {block}");
            Hpack.Table(decoder.DynamicTable).Should().Equal(Hpack.Table(encoder.DynamicTable));
        }
    }

    private static ArrayBufferWriter<byte> EncodeResponse(HpackEncoder encoder, string contentLength)
    {
        var output = new ArrayBufferWriter<byte>();
        encoder.BeginBlock(output);
        encoder.EncodeStatus(output, 200);
        encoder.EncodeHeader(output, "content-type"u8, "text/plain"u8);
        encoder.EncodeHeader(output, "server"u8, "hyperion"u8);
        encoder.EncodeHeader(output, "content-length", contentLength);
        return output;
    }

    private static byte[] HuffmanOf(string text)
    {
        byte[] plain = Encoding.ASCII.GetBytes(text);
        var coded = new byte[Huffman.EncodedLength(plain)];
        Huffman.TryEncode(plain, coded, out _);
        return coded;
    }

    private static List<(string Name, string Value)> Decode(ArrayBufferWriter<byte> output)
        => Hpack.Decode(new HpackDecoder(), output.WrittenSpan.ToArray());

    private static List<(string Name, string Value)> Decode(HpackDecoder decoder, ArrayBufferWriter<byte> output)
        => Hpack.Decode(decoder, output.WrittenSpan.ToArray());
}
