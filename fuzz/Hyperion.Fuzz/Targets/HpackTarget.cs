using System.Buffers;
using Hyperion.Http2.Hpack;

namespace Hyperion.Fuzz.Targets;

/// <summary>
/// hpack: a sequence of header blocks for one connection's decoder (the dynamic table carries over). Input: one
/// settings octet (table size, header-list limit, Huffman on re-encode), then blocks of [length: 2 octets, big
/// endian][block]. Oracles besides "no unexpected exception": the table never exceeds its maximum, and every list
/// that decodes is re-encoded with HpackEncoder and decoded again by a second pair to the same fields (so the
/// Huffman coder and the table are checked against each other, not only against crashes).
/// </summary>
internal sealed class HpackTarget : IFuzzTarget
{
    private static readonly int[] TableSizes = [0, 256, 4096, 65536];
    private static readonly int[] ListLimits = [64, 1024, 16 * 1024, 64 * 1024];

    private readonly FieldList _decoded = new();
    private readonly FieldList _roundTrip = new();
    private readonly ArrayBufferWriter<byte> _encoded = new(1024);

    public string Name => "hpack";

    public void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        byte settings = input[0];
        int tableSize = TableSizes[settings & 3];
        var decoder = new HpackDecoder(4096, ListLimits[(settings >> 2) & 3]);
        if (tableSize != 4096)
        {
            // As after the peer's SETTINGS ACK (RFC 7541 §4.2): a smaller size must be announced first.
            decoder.MaxDynamicTableSize = tableSize;
        }

        var encoder = new HpackEncoder() { UseHuffman = (settings & 0x10) != 0 };
        var checker = new HpackDecoder(4096, int.MaxValue / 2);
        bool inStep = true;

        var rest = input[1..];
        while (rest.Length > 0)
        {
            int length = rest.Length >= 2 ? Math.Min((rest[0] << 8) | rest[1], rest.Length - 2) : 0;
            var block = rest.Length >= 2 ? rest.Slice(2, length) : rest;
            rest = rest.Length >= 2 ? rest[(2 + length)..] : default;

            _decoded.Clear();
            try
            {
                decoder.Decode(block, _decoded);
            }
            catch (HpackDecodingException)
            {
                // COMPRESSION_ERROR: the connection ends; the table is no longer defined.
                return;
            }
            catch (HeaderListTooLargeException)
            {
                // The block was still processed to the end, so the decoder stays usable; the sink saw a prefix only,
                // which the round trip cannot compare.
                inStep = false;
            }

            var table = decoder.DynamicTable;
            if (table.Size > table.MaxSize || table.MaxSize > Math.Max(tableSize, 4096))
            {
                throw new FuzzFindingException($"Dynamic table holds {table.Size} octets with maximum {table.MaxSize} (limit {tableSize}).");
            }

            if (inStep)
            {
                RoundTrip(encoder, checker);
            }
        }
    }

    private void RoundTrip(HpackEncoder encoder, HpackDecoder checker)
    {
        if (_decoded.HasUppercaseName())
        {
            // The encoder takes lowercase names only (RFC 9113 §8.2.1; the request sink rejects others). Skipping the
            // block on both sides of the second pair keeps their tables in step.
            return;
        }

        _encoded.Clear();
        encoder.BeginBlock(_encoded);
        for (int i = 0; i < _decoded.Count; i++)
        {
            encoder.EncodeHeader(_encoded, _decoded.Name(i), _decoded.Value(i));
        }

        _roundTrip.Clear();
        checker.Decode(_encoded.WrittenSpan, _roundTrip);
        if (!_roundTrip.SameAs(_decoded))
        {
            throw new FuzzFindingException($"HPACK round trip changed the field list: {_decoded} became {_roundTrip}.");
        }
    }

    /// <summary>Fields copied out of the decoder's buffers (the spans are only valid during the callback).</summary>
    private sealed class FieldList : IHpackHeaderSink
    {
        private readonly List<(byte[] Name, byte[] Value)> _fields = [];

        public int Count => _fields.Count;

        public void Clear() => _fields.Clear();

        public ReadOnlySpan<byte> Name(int i) => _fields[i].Name;

        public ReadOnlySpan<byte> Value(int i) => _fields[i].Value;

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => _fields.Add((name.ToArray(), value.ToArray()));

        public bool HasUppercaseName() => _fields.Exists(f => f.Name.AsSpan().ContainsAnyInRange((byte)'A', (byte)'Z'));

        public bool SameAs(FieldList other)
        {
            if (other.Count != Count)
            {
                return false;
            }

            for (int i = 0; i < Count; i++)
            {
                if (!Name(i).SequenceEqual(other.Name(i)) || !Value(i).SequenceEqual(other.Value(i)))
                {
                    return false;
                }
            }

            return true;
        }

        public override string ToString()
            => $"[{Count} fields: {string.Join(", ", _fields.Take(8).Select(f => $"{Convert.ToHexString(f.Name)}={Convert.ToHexString(f.Value)}"))}]";
    }
}
