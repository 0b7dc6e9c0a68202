using System.Buffers;
using System.Diagnostics.CodeAnalysis;

namespace Hyperion.Http2.Hpack;

/// <summary>
/// Decodes HPACK header blocks (RFC 7541). One instance per connection: the dynamic table carries over from block to
/// block. Not thread-safe.
/// </summary>
internal sealed class HpackDecoder
{
    private readonly HpackDynamicTable _table;
    private readonly int _maxHeaderListSize;
    private int _maxDynamicTableSize;
    private bool _sizeUpdateRequired;

    // Reused across blocks so steady-state decoding allocates nothing: a multi-segment block is flattened into
    // _blockBuffer, Huffman strings decode into the name/value buffers. Each grows at most to the header-list limit.
    private byte[] _blockBuffer = [];
    private byte[] _nameBuffer = [];
    private byte[] _valueBuffer = [];

    /// <param name="maxDynamicTableSize">
    /// The table's initial maximum size and the largest size update the peer may send. A peer may send blocks before
    /// it has seen our SETTINGS, encoded against the protocol default 4096 (RFC 9113 §6.5.2): so pass 4096 here, and
    /// set <see cref="MaxDynamicTableSize"/> to an advertised smaller value once the peer acknowledges it.
    /// </param>
    /// <param name="maxHeaderListSize">
    /// Largest decoded header list (sum of name + value + 32 per field, RFC 9113 §6.5.2). A longer single string is
    /// read past without being kept (the list is then too large), so the table stays in step.
    /// </param>
    public HpackDecoder(int maxDynamicTableSize = 4096, int maxHeaderListSize = 32 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxDynamicTableSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxHeaderListSize);
        _maxDynamicTableSize = maxDynamicTableSize;
        _maxHeaderListSize = maxHeaderListSize;
        _table = new HpackDynamicTable(maxDynamicTableSize);
    }

    /// <summary>
    /// Our SETTINGS_HEADER_TABLE_SIZE. Set it once the peer has acknowledged the SETTINGS frame carrying it: a size
    /// update above it is then a decoding error, and when it is below the table's current maximum the next block must
    /// begin with a size update that complies (RFC 7541 §4.2).
    /// </summary>
    public int MaxDynamicTableSize
    {
        get => _maxDynamicTableSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _maxDynamicTableSize = value;
            _sizeUpdateRequired = value < _table.MaxSize;
        }
    }

    /// <summary>Largest decoded header list accepted, as given to the constructor.</summary>
    public int MaxHeaderListSize => _maxHeaderListSize;

    /// <summary>The decoder's dynamic table (read-only use: state checks and diagnostics).</summary>
    public HpackDynamicTable DynamicTable => _table;

    /// <summary>
    /// Decodes one complete header block (HEADERS + CONTINUATION fragments concatenated, padding removed), calling
    /// <paramref name="sink"/> for each field in order.
    /// </summary>
    /// <exception cref="HpackDecodingException">The block is malformed; the connection must end with COMPRESSION_ERROR.</exception>
    /// <exception cref="HeaderListTooLargeException">
    /// The decoded list is over the limit. The whole block was still processed, so the table is in sync; the sink saw
    /// only the fields before the limit was crossed.
    /// </exception>
    public void Decode(ReadOnlySequence<byte> block, IHpackHeaderSink sink)
    {
        if (block.IsSingleSegment)
        {
            Decode(block.FirstSpan, sink);
            return;
        }

        int length = checked((int)block.Length);
        if (_blockBuffer.Length < length)
        {
            _blockBuffer = new byte[Math.Max(length, Math.Min(2 * _blockBuffer.Length, int.MaxValue / 2))];
        }

        block.CopyTo(_blockBuffer);
        Decode(new ReadOnlySpan<byte>(_blockBuffer, 0, length), sink);
    }

    /// <summary>Decodes one complete header block held in one span; see <see cref="Decode(ReadOnlySequence{byte}, IHpackHeaderSink)"/>.</summary>
    public void Decode(ReadOnlySpan<byte> block, IHpackHeaderSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        int pos = 0;
        bool fieldSeen = false;
        long listSize = 0;
        bool tooLarge = false;

        while (pos < block.Length)
        {
            byte first = block[pos];
            ReadOnlySpan<byte> name;
            ReadOnlySpan<byte> value;

            if ((first & 0xE0) == 0x20)
            {
                // RFC 7541 §6.3 Dynamic Table Size Update: 001xxxxx, only before the first field (§4.2).
                if (fieldSeen)
                {
                    Throw("Dynamic table size update after a header field (RFC 7541 §4.2).");
                }

                int size = HpackInteger.Decode(block, ref pos, 5);
                if (size > _maxDynamicTableSize)
                {
                    Throw("Dynamic table size update above SETTINGS_HEADER_TABLE_SIZE (RFC 7541 §6.3).");
                }

                _table.SetMaxSize(size);
                _sizeUpdateRequired = false;
                continue;
            }

            if (!fieldSeen)
            {
                if (_sizeUpdateRequired)
                {
                    Throw("Header block does not start with the required dynamic table size update (RFC 7541 §4.2).");
                }

                fieldSeen = true;
            }

            if ((first & 0x80) != 0)
            {
                // §6.1 Indexed Header Field: 1xxxxxxx.
                int index = HpackInteger.Decode(block, ref pos, 7);
                GetEntry(index, out name, out value);
            }
            else
            {
                // §6.2.1 with incremental indexing: 01xxxxxx (6-bit index); §6.2.2 without indexing: 0000xxxx and
                // §6.2.3 never indexed: 0001xxxx (4-bit index). The never-indexed flag matters only to intermediaries.
                bool addToTable = (first & 0x40) != 0;
                int index = HpackInteger.Decode(block, ref pos, addToTable ? 6 : 4);
                int skipped = 0;
                if (index == 0)
                {
                    name = ReadString(block, ref pos, ref _nameBuffer, ref skipped);
                }
                else
                {
                    GetEntry(index, out name, out _);
                }

                value = ReadString(block, ref pos, ref _valueBuffer, ref skipped);
                if (skipped > 0)
                {
                    // A string too long to keep: the list is over the limit whatever else it holds, and the entry is
                    // larger than the table, so inserting it would empty the table (RFC 7541 §4.4): do just that.
                    listSize += skipped;
                    tooLarge = true;
                    if (addToTable)
                    {
                        _table.EvictAll();
                    }

                    continue;
                }

                if (addToTable)
                {
                    // Deliver before inserting: the insert may move the table bytes a dynamic name points at.
                    Deliver(sink, name, value, ref listSize, ref tooLarge);
                    _table.Insert(name, value);
                    continue;
                }
            }

            Deliver(sink, name, value, ref listSize, ref tooLarge);
        }

        if (tooLarge)
        {
            throw new HeaderListTooLargeException(
                $"Decoded header list is larger than {_maxHeaderListSize} bytes (RFC 9113 §6.5.2 size).");
        }
    }

    private void Deliver(IHpackHeaderSink sink, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, ref long listSize, ref bool tooLarge)
    {
        // RFC 9113 §6.5.2 counts decoded sizes, so a small block that references a big entry many times is caught.
        listSize += name.Length + value.Length + HpackDynamicTable.EntryOverhead;
        if (listSize > _maxHeaderListSize)
        {
            tooLarge = true;
        }

        if (!tooLarge)
        {
            sink.OnHeader(name, value);
        }
    }

    private void GetEntry(int index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        if (index <= HpackStaticTable.Count)
        {
            if (index == 0)
            {
                Throw("Index 0 is not a valid table index (RFC 7541 §6.1).");
            }

            HpackStaticEntry entry = HpackStaticTable.Get(index);
            name = entry.Name;
            value = entry.Value;
            return;
        }

        int dynamicIndex = index - HpackStaticTable.Count - 1;
        if (dynamicIndex >= _table.Count)
        {
            Throw("Index beyond the static and dynamic tables (RFC 7541 §2.3.3).");
        }

        _table.Get(dynamicIndex, out name, out value);
    }

    /// <summary>
    /// Reads a string literal (RFC 7541 §5.2). One longer than both the header list limit and the table's maximum size
    /// can be neither accepted nor indexed, so it is not kept: it is checked (Huffman validity) and its decoded length
    /// added to <paramref name="skipped"/>, and the returned span is empty. Raw literals are returned in place, any length.
    /// </summary>
    private ReadOnlySpan<byte> ReadString(ReadOnlySpan<byte> block, scoped ref int pos, scoped ref byte[] buffer, scoped ref int skipped)
    {
        if (pos >= block.Length)
        {
            Throw("Header block ends before a string literal (RFC 7541 §5.2).");
        }

        bool huffman = (block[pos] & 0x80) != 0;
        int length = HpackInteger.Decode(block, ref pos, 7);

        // Checked before touching the bytes or sizing a buffer, so a crafted length cannot make us allocate.
        if (length > block.Length - pos)
        {
            Throw("String literal runs past the end of the header block (RFC 7541 §5.2).");
        }

        ReadOnlySpan<byte> raw = block.Slice(pos, length);
        pos += length;
        if (!huffman)
        {
            return raw;
        }

        // The shortest code is 5 bits, so n octets decode to at most 8n/5 symbols. Buffers never grow past what the
        // list limit or the table could hold; beyond that a first pass finds the exact decoded length.
        int keep = Math.Max(_maxHeaderListSize, _table.MaxSize);
        long bound = (long)length * 8 / 5;
        int capacity;
        if (bound <= keep)
        {
            capacity = (int)bound;
        }
        else
        {
            capacity = Huffman.DecodedLength(raw);
            if (capacity > keep)
            {
                skipped += capacity;
                return default;
            }
        }

        if (buffer.Length < capacity)
        {
            buffer = new byte[Math.Min(Math.Max(capacity, 2 * buffer.Length), keep)];
        }

        int decoded = Huffman.Decode(raw, new Span<byte>(buffer, 0, capacity));
        return new ReadOnlySpan<byte>(buffer, 0, decoded);
    }

    [DoesNotReturn]
    private static void Throw(string message) => throw new HpackDecodingException(message);
}
