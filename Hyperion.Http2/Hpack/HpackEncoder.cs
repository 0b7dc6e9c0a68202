using System.Buffers;
using System.Diagnostics;
using System.Text;

namespace Hyperion.Http2.Hpack;

/// <summary>
/// Encodes header blocks (RFC 7541) for one connection: static-table matches, a dynamic table for repeated fields,
/// Huffman when not longer. Output depends only on the inputs and settings, never on timing. Not thread-safe.
/// </summary>
internal sealed class HpackEncoder
{
    // RFC 9113 §6.5.2: SETTINGS_HEADER_TABLE_SIZE starts at 4096 until the peer says otherwise.
    private const int ProtocolDefaultTableSize = 4096;

    private const int StackNameLimit = 128;

    private readonly int _maxDynamicTableSize;
    private readonly HpackDynamicTable _table;
    private bool _sizeUpdatePending;
    private int _smallestPendingSize;
    private int _finalPendingSize;
    private byte[] _charScratch = [];

    /// <param name="maxDynamicTableSize">The most table memory we are willing to use, whatever the peer allows.</param>
    public HpackEncoder(int maxDynamicTableSize = 4096)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxDynamicTableSize);
        _maxDynamicTableSize = maxDynamicTableSize;
        int initial = Math.Min(maxDynamicTableSize, ProtocolDefaultTableSize);
        _table = new HpackDynamicTable(initial);
        if (initial != ProtocolDefaultTableSize)
        {
            // The peer's decoder starts at 4096; tell it we use less (RFC 7541 §4.2).
            _sizeUpdatePending = true;
            _smallestPendingSize = initial;
            _finalPendingSize = initial;
        }
    }

    /// <summary>Huffman-code string literals when that is not longer than the raw octets (default true).</summary>
    public bool UseHuffman { get; set; } = true;

    /// <summary>Which literal fields enter the dynamic table.</summary>
    public HpackIndexing Indexing { get; set; } = HpackIndexing.Default;

    /// <summary>The encoder's dynamic table (read-only use: state checks and diagnostics).</summary>
    public HpackDynamicTable DynamicTable => _table;

    /// <summary>
    /// Applies the peer's SETTINGS_HEADER_TABLE_SIZE. We use min(size, our own maximum). The change takes effect at the
    /// next <see cref="BeginBlock"/>, which signals it with a Dynamic Table Size Update — preceded by the smallest size
    /// in between when the size shrank and grew again (RFC 7541 §4.2, §6.3). Deferring it keeps a block that is being
    /// encoded consistent with the table the peer still has.
    /// </summary>
    public void SetPeerMaxTableSize(int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        int newSize = Math.Min(size, _maxDynamicTableSize);
        if (!_sizeUpdatePending)
        {
            if (newSize == _table.MaxSize)
            {
                return;
            }

            _smallestPendingSize = newSize;
            _sizeUpdatePending = true;
        }

        _smallestPendingSize = Math.Min(_smallestPendingSize, newSize);
        _finalPendingSize = newSize;
    }

    /// <summary>Starts a header block: applies and writes the pending dynamic table size update(s), if any.</summary>
    public void BeginBlock(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!_sizeUpdatePending)
        {
            return;
        }

        Span<byte> span = output.GetSpan(2 * HpackInteger.MaxEncodedLength);
        int n = 0;
        if (_smallestPendingSize < _finalPendingSize)
        {
            // The peer evicts down to the smallest size first; so do we.
            _table.SetMaxSize(_smallestPendingSize);
            n += HpackInteger.Encode(span, _smallestPendingSize, 5, 0x20);
        }

        _table.SetMaxSize(_finalPendingSize);
        n += HpackInteger.Encode(span[n..], _finalPendingSize, 5, 0x20);
        output.Advance(n);
        _sizeUpdatePending = false;
    }

    /// <summary>
    /// Writes :status. 200, 204, 206, 304, 400, 404 and 500 are one octet (static table, RFC 7541 Appendix A);
    /// others are a literal with the indexed name :status.
    /// </summary>
    public void EncodeStatus(IBufferWriter<byte> output, int status)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(status, 100);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(status, 999);
        int index = status switch
        {
            200 => HpackStaticTable.Status200,
            204 => HpackStaticTable.Status204,
            206 => HpackStaticTable.Status206,
            304 => HpackStaticTable.Status304,
            400 => HpackStaticTable.Status400,
            404 => HpackStaticTable.Status404,
            500 => HpackStaticTable.Status500,
            _ => 0,
        };

        if (index != 0)
        {
            output.GetSpan(1)[0] = (byte)(0x80 | index);
            output.Advance(1);
            return;
        }

        Span<byte> digits = [(byte)('0' + (status / 100)), (byte)('0' + (status / 10 % 10)), (byte)('0' + (status % 10))];
        EncodeHeader(output, ":status"u8, digits);
    }

    /// <summary>
    /// Writes one field. <paramref name="name"/> must already be lowercase (RFC 9113 §8.2.1). A never-indexed field
    /// (credentials, cookies) is written as such and stays out of the dynamic table (RFC 7541 §6.2.3, §7.1.3).
    /// </summary>
    public void EncodeHeader(IBufferWriter<byte> output, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndex = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        Debug.Assert(!name.ContainsAnyInRange((byte)'A', (byte)'Z'), "RFC 9113 §8.2.1: field names are lowercase in HTTP/2");

        // Upper bound: prefix integer, then a string literal (length integer + bytes) for each of name and value.
        int bound = (3 * HpackInteger.MaxEncodedLength) + name.Length + value.Length;
        Span<byte> span = output.GetSpan(bound);
        int n;

        int staticName = HpackStaticTable.Find(name, value, out int staticFull);
        if (staticFull != 0 && !neverIndex)
        {
            // RFC 7541 §6.1: the whole field is in the static table.
            n = HpackInteger.Encode(span, staticFull, 7, 0x80);
            output.Advance(n);
            return;
        }

        int dynamicName = _table.Find(name, value, out int dynamicFull);
        if (dynamicFull >= 0 && !neverIndex)
        {
            n = HpackInteger.Encode(span, HpackStaticTable.Count + 1 + dynamicFull, 7, 0x80);
            output.Advance(n);
            return;
        }

        int nameIndex = staticName != 0 ? staticName : dynamicName >= 0 ? HpackStaticTable.Count + 1 + dynamicName : 0;
        bool addToTable = !neverIndex && ShouldIndex(name, value);
        if (addToTable)
        {
            n = HpackInteger.Encode(span, nameIndex, 6, 0x40); // §6.2.1
        }
        else
        {
            n = HpackInteger.Encode(span, nameIndex, 4, neverIndex ? (byte)0x10 : (byte)0x00); // §6.2.3 / §6.2.2
        }

        if (nameIndex == 0)
        {
            n += WriteString(span[n..], name);
        }

        n += WriteString(span[n..], value);
        output.Advance(n);

        if (addToTable)
        {
            _table.Insert(name, value);
        }
    }

    /// <summary>
    /// Writes one field given as strings, encoded as Latin-1 (the HTTP/1.1 writer's choice too). See the span overload.
    /// </summary>
    public void EncodeHeader(IBufferWriter<byte> output, string name, string value, bool neverIndex = false)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        Span<byte> nameBytes = name.Length <= StackNameLimit ? stackalloc byte[StackNameLimit] : new byte[name.Length];
        nameBytes = nameBytes[..Encoding.Latin1.GetBytes(name, nameBytes)];

        if (_charScratch.Length < value.Length)
        {
            _charScratch = new byte[Math.Max(value.Length, 256)];
        }

        int valueLength = Encoding.Latin1.GetBytes(value, _charScratch);
        EncodeHeader(output, nameBytes, new ReadOnlySpan<byte>(_charScratch, 0, valueLength), neverIndex);
    }

    private bool ShouldIndex(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        switch (Indexing)
        {
            case HpackIndexing.All:
                return true;
            case HpackIndexing.None:
                return false;
        }

        // An entry over three quarters of the table would flush most of it for a single field.
        long entrySize = (long)name.Length + value.Length + HpackDynamicTable.EntryOverhead;
        if (entrySize * 4 > _table.MaxSize * 3L)
        {
            return false;
        }

        return !IsUsuallyUnique(name);
    }

    // Fields whose value differs from response to response: indexing them only churns the table.
    private static bool IsUsuallyUnique(ReadOnlySpan<byte> name)
        => name.SequenceEqual("content-length"u8)
        || name.SequenceEqual("etag"u8)
        || name.SequenceEqual("last-modified"u8)
        || name.SequenceEqual("location"u8)
        || name.SequenceEqual("set-cookie"u8)
        || name.SequenceEqual("content-range"u8)
        || name.SequenceEqual(":path"u8);

    private int WriteString(Span<byte> destination, ReadOnlySpan<byte> value)
    {
        // RFC 7541 §5.2: H bit set when the octets are Huffman-coded; used when it is not longer (the choice
        // Appendix C.6 makes for "307", which is three octets either way).
        if (UseHuffman && !value.IsEmpty)
        {
            int huffmanLength = Huffman.EncodedLength(value);
            if (huffmanLength <= value.Length)
            {
                int prefix = HpackInteger.Encode(destination, huffmanLength, 7, 0x80);
                Huffman.TryEncode(value, destination[prefix..], out int written);
                return prefix + written;
            }
        }

        int n = HpackInteger.Encode(destination, value.Length, 7, 0x00);
        value.CopyTo(destination[n..]);
        return n + value.Length;
    }
}
