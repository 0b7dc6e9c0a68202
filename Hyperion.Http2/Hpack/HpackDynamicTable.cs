using System.Diagnostics;
using System.Numerics;

namespace Hyperion.Http2.Hpack;

/// <summary>
/// The HPACK dynamic table (RFC 7541 §2.3.2, §4): newest entry first, FIFO eviction by size.
/// </summary>
/// <remarks>
/// Entries keep their bytes (name then value) back to back in one array; the live bytes always form one run from the
/// oldest entry to the write position. When an insert would run past the end, the run is moved to the front, or the
/// array grows when the run fills more than half of it — so moves cost O(1) per inserted byte, every name and value
/// is one contiguous span, and memory follows what the peer actually stores (at most twice the maximum size) rather
/// than the maximum it may use.
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

    /// <summary>Octets of storage currently allocated for names and values (grows with use, up to 2 × max size).</summary>
    public int StorageCapacity => _bytes.Length;

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

    /// <summary>Name and value of the entry at <paramref name="index"/>, 0 being the newest.</summary>
    public void Get(int index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        ref readonly Entry e = ref At(index);
        name = new ReadOnlySpan<byte>(_bytes, e.Offset, e.NameLength);
        value = new ReadOnlySpan<byte>(_bytes, e.Offset + e.NameLength, e.ValueLength);
    }

    /// <summary>Changes the maximum size, evicting the oldest entries that no longer fit (RFC 7541 §4.3).</summary>
    public void SetMaxSize(int maxSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSize);
        _maxSize = maxSize;
        Evict(maxSize);
    }

    /// <summary>
    /// The effect of inserting an entry larger than the maximum size (RFC 7541 §4.4: the table is emptied), for a
    /// decoder that did not keep the entry's bytes.
    /// </summary>
    public void EvictAll() => Evict(0);

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
        if (_count == _entries.Length)
        {
            Reallocate(_bytes.Length, Math.Max(8, 2 * _entries.Length)); // stays a power of two: indices wrap with a mask
        }

        if (_writeOffset + length > _bytes.Length)
        {
            // Live bytes + the new entry fit in the maximum size; keep the array at least twice that so the
            // next move is at least half an array of inserts away.
            int needed = (int)Math.Min(2L * (LiveBytes + length), int.MaxValue);
            if (_bytes.Length < needed)
            {
                long grown = Math.Max(256, 2L * _bytes.Length);
                Reallocate((int)Math.Max(needed, Math.Min(grown, 2L * _maxSize)), _entries.Length);
            }
            else
            {
                Compact();
            }
        }

        Debug.Assert(_writeOffset + length <= _bytes.Length, "compaction or growth made room");
        name.CopyTo(_bytes.AsSpan(_writeOffset));
        value.CopyTo(_bytes.AsSpan(_writeOffset + name.Length));
        int slot = (_head + _count) & (_entries.Length - 1);
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

        return ref _entries[(_head + _count - 1 - index) & (_entries.Length - 1)];
    }

    private void Evict(int targetSize)
    {
        while (_size > targetSize)
        {
            ref Entry oldest = ref _entries[_head];
            _size -= oldest.NameLength + oldest.ValueLength + EntryOverhead;
            _head = (_head + 1) & (_entries.Length - 1);
            _count--;
        }

        if (_count == 0)
        {
            _head = 0;
            _writeOffset = 0;
        }
    }

    private int LiveBytes => _count == 0 ? 0 : _writeOffset - _entries[_head].Offset;

    private void Compact()
    {
        int start = _count == 0 ? _writeOffset : _entries[_head].Offset;
        int live = _writeOffset - start;
        Buffer.BlockCopy(_bytes, start, _bytes, 0, live);
        for (int i = 0; i < _count; i++)
        {
            _entries[(_head + i) & (_entries.Length - 1)].Offset -= start;
        }

        _writeOffset = live;
    }

    private void Reallocate(int byteCapacity, int entryCapacity)
    {
        Debug.Assert(BitOperations.IsPow2(entryCapacity), "ring indices wrap with a mask");
        var entries = new Entry[entryCapacity];
        var bytes = new byte[byteCapacity];
        int offset = 0;
        for (int i = 0; i < _count; i++)
        {
            Entry e = _entries[(_head + i) & (_entries.Length - 1)];
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
