using System.Buffers;
using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Hyperion;

/// <summary>
/// The values a route template captured, by wildcard name: <c>/todos/{id}</c> on <c>/todos/42</c> gives
/// <c>env.RouteValues["id"] == "42"</c>. Values are percent-decoded (UTF-8); <c>%2F</c> decodes to '/' but never
/// splits a segment. The typed readers (<see cref="GetInt32"/>, <see cref="TryGetGuid"/>, …) parse straight from
/// the request's bytes and allocate nothing. Empty when the request matched an exact path or no route.
/// </summary>
/// <remarks>Like its <see cref="RackEnv"/>, valid only until the response is done.</remarks>
public sealed class RouteValues : IReadOnlyDictionary<string, string>
{
    private const int StackDecode = 256;

    private string[] _names = [];
    private byte[] _source = [];
    private int[] _ranges = new int[8];
    private string?[] _decoded = new string?[4];
    private byte[]? _heldPath;

    internal RouteValues()
    {
    }

    /// <summary>The number of captured values.</summary>
    public int Count => _names.Length;

    /// <summary>The wildcard names of the matched template, in pattern order.</summary>
    public IEnumerable<string> Keys
    {
        get
        {
            // Iterated, not handed out: the names array belongs to the route.
            for (int i = 0; i < _names.Length; i++)
            {
                yield return _names[i];
            }
        }
    }

    /// <summary>The decoded values, in pattern order.</summary>
    public IEnumerable<string> Values
    {
        get
        {
            for (int i = 0; i < _names.Length; i++)
            {
                yield return Decoded(i);
            }
        }
    }

    /// <summary>The decoded value of <paramref name="name"/>; throws <see cref="KeyNotFoundException"/> when the route has none.</summary>
    public string this[string name] => Decoded(IndexOrThrow(name));

    /// <summary>Whether the matched template has a wildcard <paramref name="name"/>.</summary>
    public bool ContainsKey(string name) => IndexOf(name) >= 0;

    /// <summary>The decoded value of <paramref name="name"/>, when the matched template has that wildcard.</summary>
    public bool TryGetValue(string name, [MaybeNullWhen(false)] out string value)
    {
        int i = IndexOf(name);
        value = i >= 0 ? Decoded(i) : null;
        return i >= 0;
    }

    /// <summary>The value as an <see cref="int"/>; throws <see cref="FormatException"/> when it is not one. Allocates nothing.</summary>
    public int GetInt32(string name) => TryGetInt32(name, out int v) ? v : throw NotA(name, "a 32-bit integer");

    /// <summary>The value as an <see cref="int"/> (invariant culture, optional leading '-'); false when absent or not an integer.</summary>
    public bool TryGetInt32(string name, out int value)
    {
        value = 0;
        return TryRaw(name, out int i) && Parse(i, ref value, static (ReadOnlySpan<byte> s, out int v) => int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out v));
    }

    /// <summary>The value as a <see cref="long"/>; throws <see cref="FormatException"/> when it is not one. Allocates nothing.</summary>
    public long GetInt64(string name) => TryGetInt64(name, out long v) ? v : throw NotA(name, "a 64-bit integer");

    /// <summary>The value as a <see cref="long"/>; false when absent or not an integer.</summary>
    public bool TryGetInt64(string name, out long value)
    {
        value = 0;
        return TryRaw(name, out int i) && Parse(i, ref value, static (ReadOnlySpan<byte> s, out long v) => long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out v));
    }

    /// <summary>The value as a <see cref="Guid"/> (any of <see cref="Guid.Parse(string)"/>'s formats); throws <see cref="FormatException"/> when it is not one.</summary>
    public Guid GetGuid(string name) => TryGetGuid(name, out var v) ? v : throw NotA(name, "a GUID");

    /// <summary>The value as a <see cref="Guid"/>; false when absent or not a GUID.</summary>
    public bool TryGetGuid(string name, out Guid value)
    {
        value = default;
        return TryRaw(name, out int i) && Parse(i, ref value, static (ReadOnlySpan<byte> s, out Guid v) => Guid.TryParse(s, out v));
    }

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
    {
        for (int i = 0; i < _names.Length; i++)
        {
            yield return new KeyValuePair<string, string>(_names[i], Decoded(i));
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Records a match: <paramref name="ranges"/> holds a (start, length) pair per name, relative to <paramref name="offset"/>.</summary>
    internal void Set(string[] names, byte[] source, int offset, ReadOnlySpan<int> ranges)
    {
        if (_ranges.Length < ranges.Length)
        {
            _ranges = new int[ranges.Length];
        }

        if (_decoded.Length < names.Length)
        {
            _decoded = new string?[names.Length];
        }

        for (int i = 0; i < ranges.Length; i += 2)
        {
            _ranges[i] = offset + ranges[i];
            _ranges[i + 1] = ranges[i + 1];
        }

        _names = names;
        _source = source;
    }

    /// <summary>UTF-8 bytes of a path a middleware set, kept here so captured ranges can point into them.</summary>
    internal byte[] HoldPath(string path, out int length)
    {
        length = Encoding.UTF8.GetByteCount(path);
        if (_heldPath is null || _heldPath.Length < length)
        {
            _heldPath = new byte[Math.Max(length, 64)];
        }

        Encoding.UTF8.GetBytes(path, _heldPath);
        return _heldPath;
    }

    internal void Clear()
    {
        if (_names.Length > 0)
        {
            Array.Clear(_decoded, 0, _names.Length);
            _names = [];
            _source = [];
        }
    }

    private delegate bool SpanParser<T>(ReadOnlySpan<byte> utf8, out T value);

    private ReadOnlySpan<byte> Raw(int i) => _source.AsSpan(_ranges[2 * i], _ranges[(2 * i) + 1]);

    private bool TryRaw(string name, out int index)
    {
        index = IndexOf(name);
        return index >= 0;
    }

    private bool Parse<T>(int index, ref T value, SpanParser<T> parse)
    {
        var raw = Raw(index);
        if (raw.IndexOf((byte)'%') < 0)
        {
            return parse(raw, out value);
        }

        byte[]? rented = null;
        Span<byte> buffer = raw.Length <= StackDecode ? stackalloc byte[raw.Length] : (rented = ArrayPool<byte>.Shared.Rent(raw.Length));
        bool ok = parse(buffer[..PercentDecode(raw, buffer)], out value);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        return ok;
    }

    private string Decoded(int index)
    {
        if (_decoded[index] is { } cached)
        {
            return cached;
        }

        var raw = Raw(index);
        string value;
        if (raw.IndexOf((byte)'%') < 0)
        {
            value = Encoding.UTF8.GetString(raw);
        }
        else
        {
            byte[]? rented = null;
            Span<byte> buffer = raw.Length <= StackDecode ? stackalloc byte[raw.Length] : (rented = ArrayPool<byte>.Shared.Rent(raw.Length));
            value = Encoding.UTF8.GetString(buffer[..PercentDecode(raw, buffer)]);
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        return _decoded[index] = value;
    }

    /// <summary>RFC 3986 §2.1 percent-decoding; a '%' not followed by two hex digits is kept as is.</summary>
    private static int PercentDecode(ReadOnlySpan<byte> raw, Span<byte> destination)
    {
        int j = 0;
        for (int i = 0; i < raw.Length; i++)
        {
            byte b = raw[i];
            if (b == (byte)'%' && i + 2 < raw.Length && HexValue(raw[i + 1]) is int hi and >= 0 && HexValue(raw[i + 2]) is int lo and >= 0)
            {
                destination[j++] = (byte)((hi << 4) | lo);
                i += 2;
            }
            else
            {
                destination[j++] = b;
            }
        }

        return j;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    private int IndexOf(string name)
    {
        var names = _names;
        for (int i = 0; i < names.Length; i++)
        {
            if (string.Equals(names[i], name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private int IndexOrThrow(string name)
    {
        int i = IndexOf(name);
        return i >= 0 ? i : throw new KeyNotFoundException($"The matched route has no value named '{name}'.");
    }

    private FormatException NotA(string name, string what)
        => IndexOf(name) < 0
            ? throw new KeyNotFoundException($"The matched route has no value named '{name}'.")
            : new FormatException($"The route value '{name}' is not {what}.");
}
