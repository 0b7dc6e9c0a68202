using System.Buffers;
using System.Text;

namespace Hyperion;

/// <summary>
/// The query string parsed as <c>application/x-www-form-urlencoded</c> (WHATWG URL §5.1): <c>&amp;</c>-separated
/// <c>name=value</c> pairs, <c>+</c> as a space, <c>%XX</c> decoded as UTF-8 (invalid UTF-8 becomes U+FFFD), a malformed
/// escape kept as written, a pair without <c>=</c> giving an empty value. Read through <see cref="RackEnv.Query"/>;
/// parsed once on first use and reused with the pooled env.
/// </summary>
public sealed class QueryValues
{
    private readonly List<KeyValuePair<string, string>> _pairs = [];

    internal QueryValues()
    {
    }

    /// <summary>The number of pairs (a repeated name counts each time).</summary>
    public int Count => _pairs.Count;

    /// <summary>The pairs in the order they appear.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Pairs => _pairs;

    /// <summary>The first value of <paramref name="name"/>, or null when it is absent.</summary>
    public string? this[string name] => TryGetValue(name, out var value) ? value : null;

    /// <summary>Whether <paramref name="name"/> appears at all.</summary>
    public bool Contains(string name) => TryGetValue(name, out _);

    /// <summary>The first value of <paramref name="name"/>; false when it is absent.</summary>
    public bool TryGetValue(string name, out string value)
    {
        foreach (var pair in _pairs)
        {
            if (string.Equals(pair.Key, name, StringComparison.Ordinal))
            {
                value = pair.Value;
                return true;
            }
        }

        value = string.Empty;
        return false;
    }

    /// <summary>Every value of <paramref name="name"/> in order (<c>?tag=a&amp;tag=b</c>); empty when it is absent.</summary>
    public IReadOnlyList<string> GetValues(string name)
    {
        List<string>? values = null;
        foreach (var pair in _pairs)
        {
            if (string.Equals(pair.Key, name, StringComparison.Ordinal))
            {
                (values ??= []).Add(pair.Value);
            }
        }

        return values ?? (IReadOnlyList<string>)[];
    }

    internal void Clear() => _pairs.Clear();

    internal void Parse(string query)
    {
        _pairs.Clear();
        var rest = query.AsSpan();
        while (!rest.IsEmpty)
        {
            int amp = rest.IndexOf('&');
            var pair = amp < 0 ? rest : rest[..amp];
            rest = amp < 0 ? default : rest[(amp + 1)..];
            if (pair.IsEmpty)
            {
                continue;
            }

            int eq = pair.IndexOf('=');
            var name = eq < 0 ? pair : pair[..eq];
            var value = eq < 0 ? default : pair[(eq + 1)..];
            _pairs.Add(new(Decode(name), Decode(value)));
        }
    }

    /// <summary>Form-urlencoded percent-decoding; a <c>%</c> not followed by two hex digits stays literal.</summary>
    internal static string Decode(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty)
        {
            return string.Empty;
        }

        if (s.IndexOfAny('%', '+') < 0)
        {
            return new string(s);
        }

        byte[]? rented = null;
        int max = Encoding.UTF8.GetMaxByteCount(s.Length);
        Span<byte> bytes = max <= 512 ? stackalloc byte[max] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            int n = 0;
            for (int i = 0; i < s.Length; i++)
            {
                char c = s[i];
                if (c == '+')
                {
                    bytes[n++] = (byte)' ';
                }
                else if (c == '%' && i + 2 < s.Length && IsHex(s[i + 1]) && IsHex(s[i + 2]))
                {
                    bytes[n++] = (byte)((HexValue(s[i + 1]) << 4) | HexValue(s[i + 2]));
                    i += 2;
                }
                else if (c < 0x80)
                {
                    bytes[n++] = (byte)c;
                }
                else
                {
                    n += Encoding.UTF8.GetBytes(s.Slice(i, char.IsHighSurrogate(c) && i + 1 < s.Length ? 2 : 1), bytes[n..]);
                    if (char.IsHighSurrogate(c) && i + 1 < s.Length)
                    {
                        i++;
                    }
                }
            }

            return Encoding.UTF8.GetString(bytes[..n]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
