using System.Buffers;
using System.Text;
using Hyperion.Http2.Hpack;

namespace Hyperion.Tests.Http2.Hpack;

/// <summary>Collects decoded fields as Latin-1 strings, in order.</summary>
internal sealed class CollectingSink : IHpackHeaderSink
{
    public List<(string Name, string Value)> Fields { get; } = [];

    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
        => Fields.Add((Encoding.Latin1.GetString(name), Encoding.Latin1.GetString(value)));
}

/// <summary>Counts fields without keeping them, so it allocates nothing.</summary>
internal sealed class CountingSink : IHpackHeaderSink
{
    public int Count { get; set; }

    public long Bytes { get; set; }

    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        Count++;
        Bytes += name.Length + value.Length;
    }
}

internal static class Hpack
{
    /// <summary>Hex with optional spaces/newlines, as RFC 7541 Appendix C prints it.</summary>
    public static byte[] Hex(string hex)
        => Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal).Replace("\n", string.Empty, StringComparison.Ordinal));

    public static string ToHex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    public static List<(string Name, string Value)> Decode(HpackDecoder decoder, byte[] block)
    {
        var sink = new CollectingSink();
        decoder.Decode(new ReadOnlySequence<byte>(block), sink);
        return sink.Fields;
    }

    public static List<(string Name, string Value)> Table(HpackDynamicTable table)
    {
        var entries = new List<(string, string)>();
        for (int i = 0; i < table.Count; i++)
        {
            entries.Add((Encoding.Latin1.GetString(table.Name(i)), Encoding.Latin1.GetString(table.Value(i))));
        }

        return entries;
    }

    /// <summary>The same bytes as a sequence of several segments, split at the given offsets.</summary>
    public static ReadOnlySequence<byte> Segmented(byte[] bytes, params int[] splits)
    {
        var bounds = new List<int> { 0 };
        bounds.AddRange(splits);
        bounds.Add(bytes.Length);
        Segment? first = null;
        Segment? last = null;
        for (int i = 0; i + 1 < bounds.Count; i++)
        {
            var memory = bytes.AsMemory(bounds[i], bounds[i + 1] - bounds[i]);
            last = last is null ? (first = new Segment(memory, 0)) : last.Append(memory);
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
