using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Hyperion.Internal.Http;

/// <summary>Entity tags (RFC 9110 §8.8.3) and <c>If-None-Match</c> evaluation (§13.1.2), shared by both protocols.</summary>
internal static class EntityTags
{
    /// <summary>A strong tag naming exactly these bytes: 128 bits of SHA-256, base64url, quoted.</summary>
    public static string FromContent(ReadOnlySpan<byte> content)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(content, hash);
        return "\"" + Convert.ToBase64String(hash[..16]).TrimEnd('=').Replace('+', '-').Replace('/', '_') + "\"";
    }

    /// <summary>The weak form of <paramref name="etag"/> (§8.8.1): same meaning, not byte-for-byte the same content.</summary>
    public static string Weaken(string etag) => etag.StartsWith("W/", StringComparison.Ordinal) ? etag : "W/" + etag;

    /// <summary>A tag for another representation of the same resource: <c>"x"</c> becomes <c>"x-br"</c>.</summary>
    public static string WithSuffix(string etag, string suffix)
    {
        int close = etag.LastIndexOf('"');
        return close <= 0 ? etag : string.Concat(etag.AsSpan(0, close), "-", suffix, etag.AsSpan(close));
    }

    /// <summary>True when a valid entity tag (optionally weak): <c>W/"…"</c> or <c>"…"</c> with etagc inside.</summary>
    public static bool IsValid(string etag)
    {
        var s = etag.AsSpan();
        if (s.StartsWith("W/"))
        {
            s = s[2..];
        }

        if (s.Length < 2 || s[0] != '"' || s[^1] != '"')
        {
            return false;
        }

        foreach (char c in s[1..^1])
        {
            // etagc = %x21 / %x23-7E / obs-text
            if (c is < '\x21' or '"' or '\x7f' or > '\xff')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// True when an <c>If-None-Match</c> field lists <paramref name="etag"/> (weak comparison, §13.1.2) or is <c>*</c>.
    /// <paramref name="etag"/> is the tag as sent, e.g. <c>"abc"</c> or <c>W/"abc"</c>, in Latin-1 bytes.
    /// </summary>
    public static bool IfNoneMatchMatches(RequestHeaders headers, ReadOnlySpan<byte> etag)
    {
        for (int i = headers.IndexOf("If-None-Match"u8, 0); i >= 0; i = headers.IndexOf("If-None-Match"u8, i + 1))
        {
            if (ListMatches(headers.ValueBytes(i), etag))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// One field value: <c>*</c> or a comma-separated list of entity tags (commas may occur inside a tag). Weak
    /// comparison (§8.8.3.2, If-None-Match) ignores <c>W/</c>; strong comparison (If-Match, If-Range) matches only when
    /// neither the listed tag nor <paramref name="etag"/> is weak.
    /// </summary>
    public static bool ListMatches(ReadOnlySpan<byte> value, ReadOnlySpan<byte> etag, bool strong = false)
    {
        bool ourWeak = etag.StartsWith("W/"u8);
        var opaque = ourWeak ? etag[2..] : etag;
        int i = 0;
        while (i < value.Length)
        {
            byte c = value[i];
            if (c is (byte)' ' or (byte)'\t' or (byte)',')
            {
                i++;
                continue;
            }

            if (c == '*')
            {
                return true;
            }

            bool weak = false;
            if (c == 'W' && i + 1 < value.Length && value[i + 1] == '/')
            {
                weak = true;
                i += 2;
            }

            if (i >= value.Length || value[i] != '"')
            {
                // Not an entity tag: the field is invalid, and an invalid condition never matches.
                return false;
            }

            int close = value[(i + 1)..].IndexOf((byte)'"');
            if (close < 0)
            {
                return false;
            }

            if (value.Slice(i, close + 2).SequenceEqual(opaque) && !(strong && (weak || ourWeak)))
            {
                return true;
            }

            i += close + 2;
        }

        return false;
    }

    /// <summary>The same comparison over a field and a tag held as strings (Latin-1, as on the wire).</summary>
    public static bool ListMatches(string value, string etag, bool strong)
    {
        Span<byte> valueBytes = value.Length <= 512 ? stackalloc byte[value.Length] : new byte[value.Length];
        Span<byte> etagBytes = etag.Length <= 256 ? stackalloc byte[etag.Length] : new byte[etag.Length];
        Encoding.Latin1.GetBytes(value, valueBytes);
        Encoding.Latin1.GetBytes(etag, etagBytes);
        return ListMatches(valueBytes, etagBytes, strong);
    }

    /// <summary>Parses an HTTP-date (IMF-fixdate; the obsolete forms are accepted too, RFC 9110 §5.6.7).</summary>
    public static bool TryParseDate(string? value, out DateTimeOffset date)
    {
        date = default;
        return value is not null
            && DateTimeOffset.TryParseExact(value.Trim(), DateFormats, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AllowWhiteSpaces, out date);
    }

    /// <summary>Formats an IMF-fixdate.</summary>
    public static string FormatDate(DateTimeOffset date) => date.ToUniversalTime().ToString("r", CultureInfo.InvariantCulture);

    /// <summary>The tag's bytes for sending and comparing, Latin-1 as on the wire.</summary>
    public static byte[] ToBytes(string etag) => Encoding.Latin1.GetBytes(etag);

    private static readonly string[] DateFormats =
    [
        "r",
        "dddd, dd-MMM-yy HH:mm:ss 'GMT'",
        "ddd MMM d HH:mm:ss yyyy",
    ];
}
