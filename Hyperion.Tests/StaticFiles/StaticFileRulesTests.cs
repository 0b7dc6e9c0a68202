using Hyperion.Internal.Files;
using Hyperion.Internal.Http;

namespace Hyperion.Tests.StaticFiles;

/// <summary>The static-file rules alone: path spellings, Range headers and entity-tag lists, as data tables.</summary>
public class StaticFileRulesTests
{
    [Theory]
    [InlineData("", "", false)]
    [InlineData("/", "", true)]
    [InlineData("/a.txt", "a.txt", false)]
    [InlineData("/sub/", "sub", true)]
    [InlineData("/sub/a%20b.txt", "sub/a b.txt", false)]
    [InlineData("/caf%C3%A9.txt", "café.txt", false)]
    [InlineData("/a..b", "a..b", false)]
    [InlineData("/a+b;c=d", "a+b;c=d", false)]
    public void Clean_paths_decode_to_their_one_spelling(string raw, string relative, bool trailingSlash)
    {
        RequestPathRules.Parse(raw, serveHidden: false, out var decoded, out var slash).Should().Be(RequestPathKind.Clean);
        decoded.Should().Be(relative);
        slash.Should().Be(trailingSlash);
    }

    [Theory]
    [InlineData("/..")]
    [InlineData("/../secret")]
    [InlineData("/sub/../../secret")]
    [InlineData("/./a.txt")]
    [InlineData("/%2e%2e/secret")]
    [InlineData("/%2E%2e/secret")]
    [InlineData("/.%2e/secret")]
    [InlineData("/%2e./secret")]
    [InlineData("/%2e/a.txt")]
    [InlineData("/..%2fsecret")]
    [InlineData("/sub%2f..%2f..%2fsecret")]
    [InlineData("/%2fetc%2fpasswd")]
    [InlineData("/..\\secret")]
    [InlineData("/..%5csecret")]
    [InlineData("/..%5Csecret")]
    [InlineData("/a.txt%00.html")]
    [InlineData("/a%01")]
    [InlineData("/a%7f")]
    [InlineData("/%c0%ae%c0%ae/secret")]
    [InlineData("/%c0%af")]
    [InlineData("/%e0%80%ae")]
    [InlineData("/%ff")]
    [InlineData("//etc/passwd")]
    [InlineData("/sub//a.txt")]
    [InlineData("/%zz")]
    [InlineData("/a%2")]
    [InlineData("/a%")]
    [InlineData("a.txt")]
    public void Every_spelling_of_a_path_that_is_not_clean_is_malformed(string raw)
        => RequestPathRules.Parse(raw, serveHidden: true, out _, out _).Should().Be(RequestPathKind.Malformed);

    [Theory]
    [InlineData("/.env")]
    [InlineData("/%2eenv")]
    [InlineData("/.git/config")]
    [InlineData("/...")]
    [InlineData("/sub/.hidden/a.txt")]
    public void Dot_prefixed_segments_are_hidden_unless_allowed(string raw)
    {
        RequestPathRules.Parse(raw, serveHidden: false, out _, out _).Should().Be(RequestPathKind.Hidden);
        RequestPathRules.Parse(raw, serveHidden: true, out _, out _).Should().Be(RequestPathKind.Clean);
    }

    [Theory]
    [InlineData("bytes=0-99", "Partial", 0, 100)]
    [InlineData("bytes=10-19", "Partial", 10, 10)]
    [InlineData("BYTES=10-19", "Partial", 10, 10)]
    [InlineData("bytes=990-", "Partial", 990, 10)]
    [InlineData("bytes=999-999", "Partial", 999, 1)]
    [InlineData("bytes=500-5000", "Partial", 500, 500)]
    [InlineData("bytes=-10", "Partial", 990, 10)]
    [InlineData("bytes=-5000", "Partial", 0, 1000)]
    [InlineData("bytes=1000-", "Unsatisfiable", 0, 1000)]
    [InlineData("bytes=1000-2000", "Unsatisfiable", 0, 1000)]
    [InlineData("bytes=-0", "Unsatisfiable", 0, 1000)]
    [InlineData("bytes=0-0,5-9", "Full", 0, 1000)]
    [InlineData("bytes=9-5", "Full", 0, 1000)]
    [InlineData("bytes=a-5", "Full", 0, 1000)]
    [InlineData("bytes=5", "Full", 0, 1000)]
    [InlineData("bytes=", "Full", 0, 1000)]
    [InlineData("items=0-5", "Full", 0, 1000)]
    [InlineData("bytes=+1-5", "Full", 0, 1000)]
    public void Range_headers_on_a_1000_byte_file(string header, string expected, long offset, long count)
    {
        var outcome = Enum.Parse<RangeOutcome>(expected);
        ByteRange.Evaluate(header, 1000, out var o, out var c).Should().Be(outcome);
        if (outcome != RangeOutcome.Unsatisfiable)
        {
            (o, c).Should().Be((offset, count));
        }
    }

    [Fact]
    public void No_range_of_an_empty_file_is_satisfiable()
    {
        ByteRange.Evaluate("bytes=0-", 0, out _, out _).Should().Be(RangeOutcome.Unsatisfiable);
        ByteRange.Evaluate("bytes=-1", 0, out _, out _).Should().Be(RangeOutcome.Unsatisfiable);
    }

    [Theory]
    [InlineData("\"abc\"", false, true)]
    [InlineData("W/\"abc\"", false, true)]
    [InlineData("W/\"abc\"", true, false)]
    [InlineData("\"x\", \"abc\"", false, true)]
    [InlineData("\"x\",W/\"abc\"", false, true)]
    [InlineData("*", true, true)]
    [InlineData("\"abcd\"", false, false)]
    [InlineData("\"ab\"", false, false)]
    [InlineData("abc", false, false)]
    [InlineData("\"x\", junk", false, false)]
    public void Entity_tag_lists_compare_weakly_or_strongly(string header, bool strong, bool matches)
        => EntityTags.ListMatches(header, "\"abc\"", strong).Should().Be(matches);
}
