using System.Text;
using Hyperion.Http2.Hpack;

namespace Hyperion.Tests.Http2.Hpack;

/// <summary>The byte-array table against a plain list model of RFC 7541 §4 (insert, evict, resize).</summary>
public class HpackDynamicTableTests
{
    [Fact]
    public void Matches_a_list_model_over_random_inserts_and_resizes()
    {
        var random = new Random(4);
        var table = new HpackDynamicTable(4096);
        var model = new List<(string Name, string Value)>(); // newest first
        int maxSize = 4096;

        for (int step = 0; step < 8_000; step++)
        {
            int action = random.Next(100);
            if (action < 3)
            {
                maxSize = random.Next(0, 3) switch { 0 => 0, 1 => random.Next(32, 300), _ => random.Next(300, 8192) };
                table.SetMaxSize(maxSize);
                Evict(model, maxSize);
            }
            else if (action < 8 && model.Count > 0)
            {
                // Insert reusing an existing entry's name, as a literal with an indexed dynamic name does.
                int index = random.Next(model.Count);
                string value = RandomText(random, random.Next(0, 60));
                table.Insert(table.Name(index), Encoding.Latin1.GetBytes(value));
                Insert(model, maxSize, model[index].Name, value);
            }
            else
            {
                string name = RandomText(random, random.Next(1, 20));
                string value = RandomText(random, random.Next(0, random.Next(10) == 0 ? 2000 : 100));
                table.Insert(Encoding.Latin1.GetBytes(name), Encoding.Latin1.GetBytes(value));
                Insert(model, maxSize, name, value);
            }

            Hpack.Table(table).Should().Equal(model, $"step {step}");
            table.Size.Should().Be(model.Sum(e => e.Name.Length + e.Value.Length + 32));
            table.Size.Should().BeLessThanOrEqualTo(maxSize);
        }
    }

    [Fact]
    public void Storage_follows_use_not_the_maximum()
    {
        var table = new HpackDynamicTable(1 << 20);
        table.StorageCapacity.Should().Be(0);
        for (int i = 0; i < 10; i++)
        {
            table.Insert("content-type"u8, "text/plain"u8);
        }

        table.StorageCapacity.Should().BeInRange(1, 1024);

        // Steady churn in a small table moves bytes instead of growing.
        var small = new HpackDynamicTable(256);
        for (int i = 0; i < 1_000; i++)
        {
            small.Insert("x-a"u8, (i % 2 == 0 ? "0123456789"u8 : "abcdefghijklmnopqrstuvwxyz"u8));
        }

        small.StorageCapacity.Should().BeLessThanOrEqualTo(512);
        Hpack.Table(small).Should().HaveCount(256 / (3 + 10 + 32 + 3 + 26 + 32) * 2);
    }

    [Fact]
    public void Find_returns_newest_name_and_full_matches()
    {
        var table = new HpackDynamicTable(4096);
        table.Insert("a"u8, "1"u8);
        table.Insert("b"u8, "2"u8);
        table.Insert("a"u8, "3"u8);

        table.Find("a"u8, "1"u8, out int full).Should().Be(0);
        full.Should().Be(2);
        table.Find("a"u8, "9"u8, out full).Should().Be(0);
        full.Should().Be(-1);
        table.Find("b"u8, "2"u8, out full).Should().Be(1);
        full.Should().Be(1);
        table.Find("c"u8, ""u8, out full).Should().Be(-1);
        full.Should().Be(-1);
    }

    [Fact]
    public void Index_outside_the_table_throws()
    {
        var table = new HpackDynamicTable(4096);
        table.Insert("a"u8, "1"u8);
        var act = () => table.Name(1).Length;
        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    private static void Insert(List<(string Name, string Value)> model, int maxSize, string name, string value)
    {
        int size = name.Length + value.Length + 32;
        if (size > maxSize)
        {
            model.Clear();
            return;
        }

        Evict(model, maxSize - size);
        model.Insert(0, (name, value));
    }

    private static void Evict(List<(string Name, string Value)> model, int target)
    {
        while (model.Sum(e => e.Name.Length + e.Value.Length + 32) > target)
        {
            model.RemoveAt(model.Count - 1);
        }
    }

    private static string RandomText(Random random, int length)
    {
        var chars = new char[length];
        for (int i = 0; i < length; i++)
        {
            chars[i] = (char)random.Next(0x21, 0x7F);
        }

        return new string(chars);
    }
}
