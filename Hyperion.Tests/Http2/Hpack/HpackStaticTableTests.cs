using System.Text;
using Hyperion.Http2.Hpack;

namespace Hyperion.Tests.Http2.Hpack;

public class HpackStaticTableTests
{
    [Theory]
    [InlineData(1, ":authority", "")]
    [InlineData(2, ":method", "GET")]
    [InlineData(3, ":method", "POST")]
    [InlineData(4, ":path", "/")]
    [InlineData(5, ":path", "/index.html")]
    [InlineData(7, ":scheme", "https")]
    [InlineData(8, ":status", "200")]
    [InlineData(14, ":status", "500")]
    [InlineData(16, "accept-encoding", "gzip, deflate")]
    [InlineData(28, "content-length", "")]
    [InlineData(31, "content-type", "")]
    [InlineData(54, "server", "")]
    [InlineData(55, "set-cookie", "")]
    [InlineData(61, "www-authenticate", "")]
    public void Entries_match_appendix_a(int index, string name, string value)
    {
        HpackStaticEntry entry = HpackStaticTable.Get(index);
        Encoding.ASCII.GetString(entry.Name).Should().Be(name);
        Encoding.ASCII.GetString(entry.Value).Should().Be(value);
    }

    [Fact]
    public void Every_entry_is_found_by_its_name_and_value()
    {
        for (int index = 1; index <= HpackStaticTable.Count; index++)
        {
            HpackStaticEntry entry = HpackStaticTable.Get(index);
            int nameIndex = HpackStaticTable.Find(entry.Name, entry.Value, out int full);
            full.Should().Be(index);
            HpackStaticTable.Get(nameIndex).Name.SequenceEqual(entry.Name).Should().BeTrue();
            nameIndex.Should().BeLessThanOrEqualTo(index, "the lowest index with the name comes first");
        }
    }

    [Theory]
    [InlineData(":status", "302", 8, 0)]
    [InlineData(":method", "PUT", 2, 0)]
    [InlineData("content-type", "text/plain", 31, 0)]
    [InlineData("x-unknown", "", 0, 0)]
    [InlineData("", "", 0, 0)]
    [InlineData("Content-Type", "", 0, 0)]
    public void Partial_and_missing_matches(string name, string value, int expectedName, int expectedFull)
    {
        HpackStaticTable.Find(Encoding.ASCII.GetBytes(name), Encoding.ASCII.GetBytes(value), out int full).Should().Be(expectedName);
        full.Should().Be(expectedFull);
    }
}
