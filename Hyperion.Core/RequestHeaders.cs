using System.Collections;
using System.Text;
using Hyperion.Internal.Http;

namespace Hyperion;

/// <summary>
/// The request's header fields in arrival order, names as received. Strings are made only when
/// a field is read, so a request whose headers the app never touches allocates none.
/// </summary>
public sealed class RequestHeaders : IReadOnlyList<(string Name, string Value)>
{
    private byte[] _source = [];
    private int[] _offsets = new int[4 * 16];
    private string?[] _names = new string?[16];
    private string?[] _values = new string?[16];
    private int _count;

    internal RequestHeaders()
    {
    }

    /// <summary>Number of header fields.</summary>
    public int Count => _count;

    /// <summary>The field at <paramref name="index"/> in arrival order.</summary>
    public (string Name, string Value) this[int index]
    {
        get
        {
            if ((uint)index >= (uint)_count)
            {
                throw new ArgumentOutOfRangeException(nameof(index));
            }

            return (NameAt(index), ValueAt(index));
        }
    }

    /// <summary>
    /// The value of the field named <paramref name="name"/> (case-insensitive); several fields of that
    /// name are joined with ", " (RFC 9110 §5.3). Null when absent.
    /// </summary>
    public string? this[string name] => Get(name);

    /// <summary>The value of <paramref name="name"/> as in the indexer; null when absent.</summary>
    public string? Get(string name)
    {
        int first = IndexOf(name, 0);
        if (first < 0)
        {
            return null;
        }

        int second = IndexOf(name, first + 1);
        if (second < 0)
        {
            return ValueAt(first);
        }

        var sb = new StringBuilder(ValueAt(first));
        for (int i = second; i >= 0; i = IndexOf(name, i + 1))
        {
            sb.Append(", ").Append(ValueAt(i));
        }

        return sb.ToString();
    }

    /// <summary>Whether a field named <paramref name="name"/> is present.</summary>
    public bool Contains(string name) => IndexOf(name, 0) >= 0;

    /// <summary>Every value of fields named <paramref name="name"/>, in arrival order.</summary>
    public IEnumerable<string> GetValues(string name)
    {
        for (int i = IndexOf(name, 0); i >= 0; i = IndexOf(name, i + 1))
        {
            yield return ValueAt(i);
        }
    }

    /// <inheritdoc/>
    public IEnumerator<(string Name, string Value)> GetEnumerator()
    {
        for (int i = 0; i < _count; i++)
        {
            yield return (NameAt(i), ValueAt(i));
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal ReadOnlySpan<byte> NameBytes(int index) => _source.AsSpan(_offsets[index * 4], _offsets[(index * 4) + 1]);

    internal ReadOnlySpan<byte> ValueBytes(int index) => _source.AsSpan(_offsets[(index * 4) + 2], _offsets[(index * 4) + 3]);

    /// <summary>The value of field <paramref name="index"/> inside <paramref name="data"/>, before the head is copied into the env.</summary>
    internal ReadOnlySpan<byte> ValueBytesIn(ReadOnlySpan<byte> data, int index) => data.Slice(_offsets[(index * 4) + 2], _offsets[(index * 4) + 3]);

    internal string NameAt(int index)
    {
        return _names[index] ??= KnownHeaderNames.GetOrCreate(NameBytes(index));
    }

    internal string ValueAt(int index)
    {
        // Latin-1 keeps obs-text bytes (RFC 9110 §5.5) one-to-one instead of inventing U+FFFD.
        return _values[index] ??= Encoding.Latin1.GetString(ValueBytes(index));
    }

    internal int IndexOf(string name, int start)
    {
        for (int i = start; i < _count; i++)
        {
            if (Ascii.EqualsIgnoreCase(NameBytes(i), name))
            {
                return i;
            }
        }

        return -1;
    }

    internal int IndexOf(ReadOnlySpan<byte> name, int start)
    {
        for (int i = start; i < _count; i++)
        {
            if (Ascii.EqualsIgnoreCase(NameBytes(i), name))
            {
                return i;
            }
        }

        return -1;
    }

    internal void Clear()
    {
        if (_count > 0)
        {
            Array.Clear(_names, 0, _count);
            Array.Clear(_values, 0, _count);
        }

        _source = [];
        _count = 0;
    }

    /// <summary>Points the recorded offsets at the copy of the request head they index into.</summary>
    internal void SetSource(byte[] source) => _source = source;

    internal void Add(int nameStart, int nameLength, int valueStart, int valueLength)
    {
        if (_count == _names.Length)
        {
            Array.Resize(ref _names, _count * 2);
            Array.Resize(ref _values, _count * 2);
            Array.Resize(ref _offsets, _count * 2 * 4);
        }

        int o = _count * 4;
        _offsets[o] = nameStart;
        _offsets[o + 1] = nameLength;
        _offsets[o + 2] = valueStart;
        _offsets[o + 3] = valueLength;
        _count++;
    }
}
