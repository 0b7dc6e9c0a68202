using System.Buffers;
using System.Text;
using Hyperion.Http2.Hpack;

namespace Hyperion.Tests.Http2.Hpack;

/// <summary>
/// RFC 7541 Appendix C: every example decoded with the table state checked after each block, and encoded by
/// <see cref="HpackEncoder"/> configured the way the examples were (index everything, Huffman on or off).
/// </summary>
public class HpackRfcExampleTests
{
    private static readonly (string, string)[] Request1 =
        [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com")];

    private static readonly (string, string)[] Request2 =
        [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com"), ("cache-control", "no-cache")];

    private static readonly (string, string)[] Request3 =
        [(":method", "GET"), (":scheme", "https"), (":path", "/index.html"), (":authority", "www.example.com"), ("custom-key", "custom-value")];

    private static readonly (string, string)[] Response1 =
        [(":status", "302"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("location", "https://www.example.com")];

    private static readonly (string, string)[] Response2 =
        [(":status", "307"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("location", "https://www.example.com")];

    private static readonly (string, string)[] Response3 =
    [
        (":status", "200"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
        ("location", "https://www.example.com"), ("content-encoding", "gzip"),
        ("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"),
    ];

    private static readonly (string, string)[] RequestTable1 = [(":authority", "www.example.com")];
    private static readonly (string, string)[] RequestTable2 = [("cache-control", "no-cache"), (":authority", "www.example.com")];
    private static readonly (string, string)[] RequestTable3 =
        [("custom-key", "custom-value"), ("cache-control", "no-cache"), (":authority", "www.example.com")];

    private static readonly (string, string)[] ResponseTable1 =
        [("location", "https://www.example.com"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("cache-control", "private"), (":status", "302")];

    private static readonly (string, string)[] ResponseTable2 =
        [(":status", "307"), ("location", "https://www.example.com"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("cache-control", "private")];

    private static readonly (string, string)[] ResponseTable3 =
        [("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"), ("content-encoding", "gzip"), ("date", "Mon, 21 Oct 2013 20:13:22 GMT")];

    // C.3 (plain) and C.4 (Huffman): three requests on one connection, table size 4096.
    private static readonly string[] C3 =
    [
        "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
        "8286 84be 5808 6e6f 2d63 6163 6865",
        "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
    ];

    private static readonly string[] C4 =
    [
        "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
        "8286 84be 5886 a8eb 1064 9cbf",
        "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
    ];

    // C.5 (plain) and C.6 (Huffman): three responses, SETTINGS_HEADER_TABLE_SIZE 256, with evictions.
    private static readonly string[] C5 =
    [
        """
        4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
        2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d
        """,
        "4803 3330 37c1 c0bf",
        """
        88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
        54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
        5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31
        """,
    ];

    private static readonly string[] C6 =
    [
        """
        4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
        2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3
        """,
        "4883 640e ffc1 c0bf",
        """
        88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
        77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
        9587 3160 65c0 03ed 4ee5 b106 3d50 07
        """,
    ];

    [Fact]
    public void C2_1_literal_with_indexing()
    {
        var decoder = new HpackDecoder();
        Hpack.Decode(decoder, Hpack.Hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"))
            .Should().Equal(("custom-key", "custom-header"));
        Hpack.Table(decoder.DynamicTable).Should().Equal(("custom-key", "custom-header"));
        decoder.DynamicTable.Size.Should().Be(55);
    }

    [Fact]
    public void C2_2_literal_without_indexing()
    {
        var decoder = new HpackDecoder();
        Hpack.Decode(decoder, Hpack.Hex("040c 2f73 616d 706c 652f 7061 7468")).Should().Equal((":path", "/sample/path"));
        decoder.DynamicTable.Count.Should().Be(0);
    }

    [Fact]
    public void C2_3_literal_never_indexed()
    {
        var decoder = new HpackDecoder();
        Hpack.Decode(decoder, Hpack.Hex("1008 7061 7373 776f 7264 0673 6563 7265 74")).Should().Equal(("password", "secret"));
        decoder.DynamicTable.Count.Should().Be(0);
    }

    [Fact]
    public void C2_4_indexed_field()
    {
        var decoder = new HpackDecoder();
        Hpack.Decode(decoder, Hpack.Hex("82")).Should().Equal((":method", "GET"));
        decoder.DynamicTable.Count.Should().Be(0);
    }

    [Fact]
    public void C2_encoder_writes_the_same_literal_forms()
    {
        var encoder = new HpackEncoder { UseHuffman = false, Indexing = HpackIndexing.All };
        var output = new ArrayBufferWriter<byte>();
        encoder.EncodeHeader(output, "custom-key"u8, "custom-header"u8);
        Hpack.ToHex(output.WrittenSpan).Should().Be("400a637573746f6d2d6b65790d637573746f6d2d686561646572");

        output.Clear();
        encoder.EncodeHeader(output, "password"u8, "secret"u8, neverIndex: true);
        Hpack.ToHex(output.WrittenSpan).Should().Be("100870617373776f726406736563726574");

        output.Clear();
        encoder.Indexing = HpackIndexing.None;
        encoder.EncodeHeader(output, ":path"u8, "/sample/path"u8);
        Hpack.ToHex(output.WrittenSpan).Should().Be("040c2f73616d706c652f70617468");

        output.Clear();
        encoder.EncodeHeader(output, ":method"u8, "GET"u8);
        Hpack.ToHex(output.WrittenSpan).Should().Be("82");
    }

    [Fact]
    public void C3_requests_without_huffman_decode() => DecodeRequests(C3);

    [Fact]
    public void C4_requests_with_huffman_decode() => DecodeRequests(C4);

    [Fact]
    public void C5_responses_without_huffman_decode() => DecodeResponses(C5);

    [Fact]
    public void C6_responses_with_huffman_decode() => DecodeResponses(C6);

    [Fact]
    public void C3_encoder_matches_byte_for_byte() => EncodeAndCompare(C3, [Request1, Request2, Request3], huffman: false, tableSize: null);

    [Fact]
    public void C4_encoder_matches_byte_for_byte() => EncodeAndCompare(C4, [Request1, Request2, Request3], huffman: true, tableSize: null);

    [Fact]
    public void C5_encoder_matches_byte_for_byte() => EncodeAndCompare(C5, [Response1, Response2, Response3], huffman: false, tableSize: 256);

    [Fact]
    public void C6_encoder_matches_byte_for_byte() => EncodeAndCompare(C6, [Response1, Response2, Response3], huffman: true, tableSize: 256);

    [Fact]
    public void Examples_decode_the_same_when_split_across_segments()
    {
        foreach (string[] series in new[] { C3, C4, C5, C6 })
        {
            byte[][] blocks = series.Select(Hpack.Hex).ToArray();
            int tableSize = series == C5 || series == C6 ? 256 : 4096;
            for (int split = 1; split < blocks[0].Length; split++)
            {
                var reference = new HpackDecoder(tableSize);
                var segmented = new HpackDecoder(tableSize);
                foreach (byte[] block in blocks)
                {
                    int at = Math.Min(split, block.Length - 1);
                    var expected = Hpack.Decode(reference, block);
                    var sink = new CollectingSink();
                    segmented.Decode(Hpack.Segmented(block, at / 2, at), sink);
                    sink.Fields.Should().Equal(expected);
                }

                Hpack.Table(segmented.DynamicTable).Should().Equal(Hpack.Table(reference.DynamicTable));
            }
        }
    }

    private static void DecodeRequests(string[] blocks)
    {
        var decoder = new HpackDecoder();
        Hpack.Decode(decoder, Hpack.Hex(blocks[0])).Should().Equal(Request1);
        Hpack.Table(decoder.DynamicTable).Should().Equal(RequestTable1);
        decoder.DynamicTable.Size.Should().Be(57);

        Hpack.Decode(decoder, Hpack.Hex(blocks[1])).Should().Equal(Request2);
        Hpack.Table(decoder.DynamicTable).Should().Equal(RequestTable2);
        decoder.DynamicTable.Size.Should().Be(110);

        Hpack.Decode(decoder, Hpack.Hex(blocks[2])).Should().Equal(Request3);
        Hpack.Table(decoder.DynamicTable).Should().Equal(RequestTable3);
        decoder.DynamicTable.Size.Should().Be(164);
    }

    private static void DecodeResponses(string[] blocks)
    {
        var decoder = new HpackDecoder(maxDynamicTableSize: 256);
        Hpack.Decode(decoder, Hpack.Hex(blocks[0])).Should().Equal(Response1);
        Hpack.Table(decoder.DynamicTable).Should().Equal(ResponseTable1);
        decoder.DynamicTable.Size.Should().Be(222);

        // ":status: 302" is evicted to make room for ":status: 307".
        Hpack.Decode(decoder, Hpack.Hex(blocks[1])).Should().Equal(Response2);
        Hpack.Table(decoder.DynamicTable).Should().Equal(ResponseTable2);
        decoder.DynamicTable.Size.Should().Be(222);

        // Several entries are evicted by the set-cookie entry.
        Hpack.Decode(decoder, Hpack.Hex(blocks[2])).Should().Equal(Response3);
        Hpack.Table(decoder.DynamicTable).Should().Equal(ResponseTable3);
        decoder.DynamicTable.Size.Should().Be(215);
    }

    private static void EncodeAndCompare(string[] expectedBlocks, (string Name, string Value)[][] lists, bool huffman, int? tableSize)
    {
        var encoder = new HpackEncoder { UseHuffman = huffman, Indexing = HpackIndexing.All };
        var decoder = new HpackDecoder(maxDynamicTableSize: tableSize ?? 4096);
        if (tableSize is int size)
        {
            encoder.SetPeerMaxTableSize(size);
        }

        for (int i = 0; i < lists.Length; i++)
        {
            var output = new ArrayBufferWriter<byte>();
            encoder.BeginBlock(output);
            foreach (var (name, value) in lists[i])
            {
                if (name == ":status")
                {
                    encoder.EncodeStatus(output, int.Parse(value, System.Globalization.CultureInfo.InvariantCulture));
                }
                else
                {
                    encoder.EncodeHeader(output, Encoding.ASCII.GetBytes(name), Encoding.ASCII.GetBytes(value));
                }
            }

            // The examples assume both sides already use 256; our encoder first tells the peer it shrank from the
            // protocol default 4096 with a size update (001 11111 + 225 = 256).
            string expected = Hpack.ToHex(Hpack.Hex(expectedBlocks[i]));
            if (i == 0 && tableSize is not null)
            {
                expected = "3fe101" + expected;
            }

            Hpack.ToHex(output.WrittenSpan).Should().Be(expected, $"block {i + 1}");
            Hpack.Decode(decoder, output.WrittenSpan.ToArray()).Should().Equal(lists[i]);
            Hpack.Table(encoder.DynamicTable).Should().Equal(Hpack.Table(decoder.DynamicTable));
        }
    }
}
