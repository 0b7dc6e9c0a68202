using System.Diagnostics;

namespace Hyperion.Http2.Hpack;

/// <summary>
/// The HPACK dynamic table (RFC 7541 §2.3.2, §4): newest entry first, FIFO eviction by size.
/// </summary>
/// <remarks>
/// Entries keep their bytes (name then value) back to back in one array of twice the maximum size; the live bytes
/// always form one run from the oldest entry to the write position. When an insert would run past the end, the run is
/// moved to the front — at most once per maximum-size worth of inserts — so inserts never allocate and every name and
/// value is one contiguous span.
/// </remarks>
internal sealed class HpackDynamicTable
{
    /// <summary>Per-entry overhead counted by the table size (RFC 7541 §4.1).</summary>
    public const int EntryOverhead = 32;

    private byte[] _bytes = [];
    private Entry[] _entries = [];
    private byte[] _aliasScratch = [];
    private int _head;  // ring index of the oldest entry
    private int _count;
    private int _writeOffset;
    private int _size;
    private int _maxSize;

    public HpackDynamicTable(int maxSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSize);
        _maxSize = maxSize;
    }

    /// <summary>Number of entries.</summary>
    public int Count => _count;

    /// <summary>Sum of entry sizes (name + value + 32 each).</summary>
    public int Size => _size;

    /// <summary>Current maximum size; inserts evict down to it.</summary>
    public int MaxSize => _maxSize;

    /// <summary>Name of the entry at <paramref name="index"/>, 0 being the newest.</summary>
    public ReadOnlySpan<byte> Name(int index)
    {
        ref readonly Entry e = ref At(index);
        return new ReadOnlySpan<byte>(_bytes, e.Offset, e.NameLength);
    }

    /// <summary>Value of the entry at <paramref name="index"/>, 0 being the newest.</summary>
    public ReadOnlySpan<byte> Value(int index)
    {
        ref readonly Entry e = ref At(index);
        return new ReadOnlySpan<byte>(_bytes, e.Offset + e.NameLength, e.ValueLength);
    }

    /// <summary>Changes the maximum size, evicting the oldest entries that no longer fit (RFC 7541 §4.3).</summary>
    public void SetMaxSize(int maxSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSize);
        _maxSize = maxSize;
        Evict(maxSize);
        if (_bytes.Length != 0 && _bytes.Length < 2 * maxSize)
        {
            Reallocate(maxSize);
        }
    }

    /// <summary>
    /// Adds an entry as the newest, evicting old ones first (RFC 7541 §4.4). An entry larger than the maximum size
    /// empties the table and is not added. <paramref name="name"/> may point into this table.
    /// </summary>
    public void Insert(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        int length = name.Length + value.Length;
        int entrySize = length + EntryOverhead;
        if (entrySize > _maxSize)
        {
            Evict(0);
            return;
        }

        if (name.Overlaps(_bytes))
        {
            // RFC 7541 §4.4: the name may belong to an entry this insert evicts; keep it before bytes move.
            if (_aliasScratch.Length < name.Length)
            {
                _aliasScratch = new byte[Math.Max(name.Length, 64)];
            }

            name.CopyTo(_aliasScratch);
            name = new ReadOnlySpan<byte>(_aliasScratch, 0, name.Length);
        }

        Evict(_maxSize - entrySize);
        if (_bytes.Length < 2 * _maxSize)
        {
            Reallocate(_maxSize);
        }

        if (_writeOffset + length > _bytes.Length)
        {
            Compact();
        }

        Debug.Assert(_writeOffset + length <= _bytes.Length, "live bytes + new entry <= max size <= half the buffer");
        name.CopyTo(_bytes.AsSpan(_writeOffset));
        value.CopyTo(_bytes.AsSpan(_writeOffset + name.Length));
        int slot = (_head + _count) % _entries.Length;
        _entries[slot] = new Entry(_writeOffset, name.Length, value.Length);
        _count++;
        _writeOffset += length;
        _size += entrySize;
    }

    /// <summary>
    /// Searches newest to oldest. Returns the index of the first entry named <paramref name="name"/> (-1 when none)
    /// and, in <paramref name="fullMatch"/>, the first whose value also matches (-1 when none).
    /// </summary>
    public int Find(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, out int fullMatch)
    {
        fullMatch = -1;
        int nameMatch = -1;
        for (int i = 0; i < _count; i++)
        {
            ref readonly Entry e = ref At(i);
            if (e.NameLength != name.Length || !name.SequenceEqual(new ReadOnlySpan<byte>(_bytes, e.Offset, e.NameLength)))
            {
                continue;
            }

            if (nameMatch < 0)
            {
                nameMatch = i;
            }

            if (e.ValueLength == value.Length && value.SequenceEqual(new ReadOnlySpan<byte>(_bytes, e.Offset + e.NameLength, e.ValueLength)))
            {
                fullMatch = i;
                break;
            }
        }

        return nameMatch;
    }

    private ref readonly Entry At(int index)
    {
        if ((uint)index >= (uint)_count)
        {
            throw new ArgumentOutOfRangeException(nameof(index));
        }

        return ref _entries[(_head + _count - 1 - index) % _entries.Length];
    }

    private void Evict(int targetSize)
    {
        while (_size > targetSize)
        {
            ref Entry oldest = ref _entries[_head];
            _size -= oldest.NameLength + oldest.ValueLength + EntryOverhead;
            _head = (_head + 1) % _entries.Length;
            _count--;
        }

        if (_count == 0)
        {
            _head = 0;
            _writeOffset = 0;
        }
    }

    private void Compact()
    {
        int start = _count == 0 ? _writeOffset : _entries[_head].Offset;
        int live = _writeOffset - start;
        Buffer.BlockCopy(_bytes, start, _bytes, 0, live);
        for (int i = 0; i < _count; i++)
        {
            _entries[(_head + i) % _entries.Length].Offset -= start;
        }

        _writeOffset = live;
    }

    private void Reallocate(int maxSize)
    {
        // Each entry takes at least EntryOverhead of the size, so this many slots always suffice.
        var entries = new Entry[(maxSize / EntryOverhead) + 1];
        var bytes = new byte[2 * maxSize];
        int offset = 0;
        for (int i = 0; i < _count; i++)
        {
            Entry e = _entries[(_head + i) % _entries.Length];
            int length = e.NameLength + e.ValueLength;
            Buffer.BlockCopy(_bytes, e.Offset, bytes, offset, length);
            entries[i] = new Entry(offset, e.NameLength, e.ValueLength);
            offset += length;
        }

        _entries = entries;
        _bytes = bytes;
        _head = 0;
        _writeOffset = offset;
    }

    private struct Entry(int offset, int nameLength, int valueLength)
    {
        public int Offset = offset;
        public readonly int NameLength = nameLength;
        public readonly int ValueLength = valueLength;
    }
}
