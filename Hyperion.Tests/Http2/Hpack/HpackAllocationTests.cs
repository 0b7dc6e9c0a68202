using System.Buffers;
using Hyperion.Http2.Hpack;
using Hyperion.Tests.Performance;
using Xunit.Abstractions;

namespace Hyperion.Tests.Http2.Hpack;

/// <summary>Steady-state decoding and encoding allocate nothing per block.</summary>
[Collection(nameof(AllocationCollection))]
public class HpackAllocationTests(ITestOutputHelper output)
{
    private const int Warmup = 1_000;
    private const int Measured = 10_000;

    [Fact]
    public void Decoding_a_typical_request_block_allocates_nothing_per_block()
    {
        // A browser-like request: the first block fills the dynamic table, the repeats are mostly indices.
        var encoder = new HpackEncoder { Indexing = HpackIndexing.All };
        byte[] first = EncodeRequest(encoder);
        byte[] repeat = EncodeRequest(encoder);
        repeat.Length.Should().BeLessThan(first.Length / 4);

        // Also a block of two Huffman-coded literals with indexing: every decode inserts both again, so the table
        // keeps evicting and compacting.
        var decoder = new HpackDecoder();
        var sink = new CountingSink();
        decoder.Decode(new ReadOnlySequence<byte>(first), sink);
        var repeatSequence = new ReadOnlySequence<byte>(repeat);
        var segmented = Hpack.Segmented(repeat, repeat.Length / 2);
        byte[] literal = HuffmanLiteralBlock();

        for (int i = 0; i < Warmup; i++)
        {
            decoder.Decode(repeatSequence, sink);
            decoder.Decode(segmented, sink);
            decoder.Decode(literal, sink);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Measured; i++)
        {
            decoder.Decode(repeatSequence, sink);
            decoder.Decode(segmented, sink);
            decoder.Decode(literal, sink);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        double perBlock = allocated / (3.0 * Measured);
        output.WriteLine($"decode: {perBlock:F3} bytes/block over {3 * Measured} blocks ({repeat.Length}-byte repeat block)");
        sink.Count.Should().BeGreaterThan(3 * Measured * 5);
        perBlock.Should().BeLessThan(1.0);
    }

    [Fact]
    public void Encoding_a_typical_response_allocates_nothing_per_block()
    {
        var encoder = new HpackEncoder();
        var buffer = new ArrayBufferWriter<byte>(4096);
        for (int i = 0; i < Warmup; i++)
        {
            buffer.ResetWrittenCount();
            EncodeResponse(encoder, buffer);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Measured; i++)
        {
            buffer.ResetWrittenCount();
            EncodeResponse(encoder, buffer);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        double perBlock = allocated / (double)Measured;
        output.WriteLine($"encode: {perBlock:F3} bytes/block, block is {buffer.WrittenCount} bytes");
        perBlock.Should().BeLessThan(1.0);
    }

    private static void EncodeResponse(HpackEncoder encoder, ArrayBufferWriter<byte> buffer)
    {
        encoder.BeginBlock(buffer);
        encoder.EncodeStatus(buffer, 200);
        encoder.EncodeHeader(buffer, "content-type"u8, "text/plain; charset=utf-8"u8);
        encoder.EncodeHeader(buffer, "server"u8, "hyperion"u8);
        encoder.EncodeHeader(buffer, "date"u8, "Wed, 25 Nov 2026 00:00:00 GMT"u8);
        encoder.EncodeHeader(buffer, "content-length"u8, "13"u8);
        encoder.EncodeHeader(buffer, "x-trace", "abc123");
    }

    private static byte[] EncodeRequest(HpackEncoder encoder)
    {
        var buffer = new ArrayBufferWriter<byte>();
        encoder.BeginBlock(buffer);
        encoder.EncodeHeader(buffer, ":method"u8, "GET"u8);
        encoder.EncodeHeader(buffer, ":scheme"u8, "https"u8);
        encoder.EncodeHeader(buffer, ":authority"u8, "localhost:9292"u8);
        encoder.EncodeHeader(buffer, ":path"u8, "/api/items?page=2"u8);
        encoder.EncodeHeader(buffer, "user-agent"u8, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"u8);
        encoder.EncodeHeader(buffer, "accept"u8, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"u8);
        encoder.EncodeHeader(buffer, "accept-encoding"u8, "gzip, deflate, br"u8);
        encoder.EncodeHeader(buffer, "accept-language"u8, "en-US,en;q=0.9"u8);
        encoder.EncodeHeader(buffer, "cookie"u8, "session=0123456789abcdef; theme=dark"u8);
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] HuffmanLiteralBlock()
    {
        var encoder = new HpackEncoder { Indexing = HpackIndexing.All };
        var buffer = new ArrayBufferWriter<byte>();
        encoder.EncodeHeader(buffer, "x-request-id"u8, "5f2b8c1e-7d4a-4e8b-9c3f-0a1b2c3d4e5f"u8);
        encoder.EncodeHeader(buffer, "x-custom-header"u8, "some longer value that needs huffman"u8);
        return buffer.WrittenSpan.ToArray();
    }
}
