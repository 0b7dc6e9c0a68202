using System.Buffers;
using System.IO.Compression;
using System.Text;
using Hyperion;
using Hyperion.Internal.Http;

namespace Hyperion.Tests.Compression;

/// <summary>Negotiation (RFC 9110 §12.5.3), entity tags (§8.8.3, §13.1.2) and the encoders' flush behaviour, without sockets.</summary>
public class CompressionCoreTests
{
    private static readonly ContentCoding[] BrThenGzip = [ContentCoding.Brotli, ContentCoding.Gzip];
    private static readonly ContentCoding[] GzipThenBr = [ContentCoding.Gzip, ContentCoding.Brotli];

    [Theory]
    [InlineData("gzip", "gzip")]
    [InlineData("br", "br")]
    [InlineData("gzip, deflate, br", "br")]             // equal weights: the server's order (br first)
    [InlineData("br;q=0.5, gzip", "gzip")]
    [InlineData("br;q=0.5, gzip;q=0.6", "gzip")]
    [InlineData("BR;Q=1.0, GZip;q=0.9", "br")]
    [InlineData("x-gzip", "gzip")]                      // §8.4.1.3 alias
    [InlineData("*", "br")]
    [InlineData("*;q=0.3, br;q=0", "gzip")]             // q=0 excludes; * covers the unlisted gzip
    [InlineData("gzip;q=0, br;q=0", "identity")]
    [InlineData("identity", "identity")]
    [InlineData("", "identity")]
    [InlineData("deflate, compress", "identity")]
    [InlineData("gzip;q=0.5, identity;q=0.8", "identity")]  // identity named with a higher weight
    [InlineData("gzip;q=0.5", "gzip")]                  // unlisted identity is acceptable but least preferred
    [InlineData("gzip;q=2", "identity")]                // invalid weight: element ignored
    [InlineData("gzip;q=0.1234", "identity")]           // more than three decimals
    [InlineData("gzip;q=1.001", "identity")]
    [InlineData("gzip;level=1", "identity")]            // no parameter but q is defined
    [InlineData(" \tgzip ; q = 0.7 ,br;q=0.6", "gzip")]
    [InlineData(",,gzip,,", "gzip")]
    [InlineData("gzip;q=0., br;q=0.001", "br")]
    public void Accept_encoding_selects_by_weight_then_server_order(string field, string expected)
    {
        var chosen = AcceptEncoding.Select(Encoding.Latin1.GetBytes(field), BrThenGzip);
        CompressionPolicy.Name(chosen).Should().Be(expected);
    }

    [Fact]
    public void The_server_order_is_configurable()
    {
        CompressionPolicy.Name(AcceptEncoding.Select("gzip, br"u8, GzipThenBr)).Should().Be("gzip");
        CompressionPolicy.Name(AcceptEncoding.Select("gzip, br"u8, [ContentCoding.Brotli])).Should().Be("br");
        CompressionPolicy.Name(AcceptEncoding.Select("gzip"u8, [ContentCoding.Brotli])).Should().Be("identity");
    }

    [Theory]
    [InlineData("\"abc\"", "\"abc\"", true)]
    [InlineData("W/\"abc\"", "\"abc\"", true)]               // weak comparison (§13.1.2)
    [InlineData("\"abc\"", "W/\"abc\"", true)]
    [InlineData("\"x\", \"abc\"", "\"abc\"", true)]
    [InlineData("\"a,b\", \"c\"", "\"c\"", true)]            // a comma inside a tag is not a separator
    [InlineData("\"a,b\"", "\"b\"", false)]
    [InlineData("*", "\"anything\"", true)]
    [InlineData("\"abcd\"", "\"abc\"", false)]
    [InlineData("abc", "\"abc\"", false)]                    // unquoted: invalid, never matches
    [InlineData("\"abc", "\"abc\"", false)]
    [InlineData("", "\"abc\"", false)]
    public void If_none_match_uses_weak_comparison(string field, string etag, bool matches)
        => EntityTags.ListMatches(Encoding.Latin1.GetBytes(field), Encoding.Latin1.GetBytes(etag)).Should().Be(matches);

    [Fact]
    public void Entity_tags_are_strong_per_content_and_suffixed_or_weakened_for_other_representations()
    {
        var a = EntityTags.FromContent("hello"u8);
        a.Should().MatchRegex("^\"[A-Za-z0-9_-]{22}\"$");
        EntityTags.FromContent("hello"u8).Should().Be(a);
        EntityTags.FromContent("hellp"u8).Should().NotBe(a);
        EntityTags.WithSuffix("\"x\"", "br").Should().Be("\"x-br\"");
        EntityTags.WithSuffix("W/\"x\"", "gzip").Should().Be("W/\"x-gzip\"");
        EntityTags.Weaken("\"x\"").Should().Be("W/\"x\"");
        EntityTags.Weaken("W/\"x\"").Should().Be("W/\"x\"");
        EntityTags.IsValid("\"ok\"").Should().BeTrue();
        EntityTags.IsValid("W/\"ok\"").Should().BeTrue();
        EntityTags.IsValid("ok").Should().BeFalse();
        EntityTags.IsValid("\"o\"k\"").Should().BeFalse();
    }

    [Theory]
    [InlineData("text/plain", true)]
    [InlineData("text/html; charset=utf-8", true)]
    [InlineData("TEXT/CSS", true)]
    [InlineData("application/json", true)]
    [InlineData("application/json;charset=utf-8", true)]
    [InlineData("application/problem+json", true)]
    [InlineData("application/atom+xml", true)]
    [InlineData("image/svg+xml", true)]
    [InlineData("image/png", false)]
    [InlineData("application/octet-stream", false)]
    [InlineData("application/zip", false)]
    [InlineData("application/jsonx", false)]
    [InlineData("", false)]
    [InlineData("text", false)]
    public void Content_types_match_ignoring_parameters_and_case(string contentType, bool compressible)
        => new CompressionPolicy(new ResponseCompressionOptions()).IsCompressible(contentType).Should().Be(compressible);

    [Fact]
    public void The_policy_rejects_unknown_codings_and_bad_patterns()
    {
        var unknown = new ResponseCompressionOptions();
        unknown.Encodings.Add("deflate");
        FluentActions.Invoking(() => new CompressionPolicy(unknown)).Should().Throw<ArgumentException>().WithMessage("*deflate*");
        var pattern = new ResponseCompressionOptions();
        pattern.MimeTypes.Add("json");
        FluentActions.Invoking(() => new CompressionPolicy(pattern)).Should().Throw<ArgumentException>().WithMessage("*json*");
        var size = new ResponseCompressionOptions { MinimumSize = -1 };
        FluentActions.Invoking(() => new CompressionPolicy(size)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("br")]
    public void A_one_shot_encoding_decodes_to_the_original(string name)
    {
        var coding = Coding(name);
        var original = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 2000).Select(i => $"line {i} of the body\n")));
        foreach (var level in new[] { CompressionLevel.Fastest, CompressionLevel.Optimal, CompressionLevel.SmallestSize })
        {
            var encoded = ContentEncoder.Encode(coding, level, original);
            encoded.Length.Should().BeLessThan(original.Length / 4);
            Decode(coding, encoded).Should().Equal(original);
        }
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("br")]
    public void Each_flush_makes_everything_written_so_far_decodable(string name)
    {
        var coding = Coding(name);
        var output = new ArrayBufferWriter<byte>();
        using var encoder = ContentEncoder.Create(coding, CompressionLevel.Fastest);
        var first = Encoding.UTF8.GetBytes("event: one\ndata: the first part\n\n");
        encoder.Write(first, output);
        encoder.Flush(output);

        // Only the flushed prefix of the stream, no final block: it must already decode to the first part.
        DecodePrefix(coding, output.WrittenSpan.ToArray(), first.Length).Should().Equal(first);

        var second = Encoding.UTF8.GetBytes("event: two\ndata: the rest\n\n");
        encoder.Write(second, output);
        encoder.Flush(output);
        DecodePrefix(coding, output.WrittenSpan.ToArray(), first.Length + second.Length).Should().Equal([.. first, .. second]);
        encoder.Finish(output);
        Decode(coding, output.WrittenSpan.ToArray()).Should().Equal([.. first, .. second]);
    }

    internal static byte[] Decode(string coding, byte[] encoded) => Decode(Coding(coding), encoded);

    private static ContentCoding Coding(string name) => name == "gzip" ? ContentCoding.Gzip : ContentCoding.Brotli;

    internal static byte[] Decode(ContentCoding coding, byte[] encoded)
    {
        using var input = new MemoryStream(encoded);
        using Stream decoder = coding == ContentCoding.Gzip ? new GZipStream(input, CompressionMode.Decompress) : new BrotliStream(input, CompressionMode.Decompress);
        using var result = new MemoryStream();
        decoder.CopyTo(result);
        return result.ToArray();
    }

    /// <summary>Decodes <paramref name="count"/> bytes from a stream that has not ended (no final block yet).</summary>
    private static byte[] DecodePrefix(ContentCoding coding, byte[] encoded, int count)
    {
        var result = new byte[count];
        if (coding == ContentCoding.Brotli)
        {
            using var decoder = new BrotliDecoder();
            var status = decoder.Decompress(encoded, result, out int consumed, out int written);
            status.Should().NotBe(OperationStatus.InvalidData);
            consumed.Should().Be(encoded.Length);
            written.Should().Be(count);
            return result;
        }

        using var input = new MemoryStream(encoded);
        using var gzip = new GZipStream(input, CompressionMode.Decompress);
        gzip.ReadAtLeast(result, count, throwOnEndOfStream: true).Should().Be(count);
        return result;
    }
}
