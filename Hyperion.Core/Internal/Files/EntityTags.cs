using System.Globalization;

namespace Hyperion.Internal.Files;

/// <summary>Entity-tag lists and HTTP dates as preconditions compare them (RFC 9110 §8.8.3, §13.1, §5.6.7).</summary>
internal static class EntityTags
{
    /// <summary>
    /// True when the <c>If-None-Match</c> / <c>If-Match</c> list <paramref name="header"/> matches <paramref name="etag"/>:
    /// <c>*</c> matches any current representation; otherwise each listed tag is compared weakly (opaque-tags equal,
    /// W/ ignored) or, with <paramref name="strong"/>, only unweakened tags count.
    /// </summary>
    public static bool ListMatches(string header, string etag, bool strong)
    {
        var list = header.AsSpan().Trim(" \t");
        if (list.SequenceEqual("*"))
        {
            return true;
        }

        // Our own tags are strong: the whole tag is the opaque-tag.
        var opaque = etag.AsSpan();
        while (!list.IsEmpty)
        {
            list = list.TrimStart(" \t,");
            if (list.IsEmpty)
            {
                break;
            }

            bool weak = list.StartsWith("W/", StringComparison.Ordinal);
            var rest = weak ? list[2..] : list;
            if (rest.IsEmpty || rest[0] != '"')
            {
                // Not an entity-tag: the list is malformed; treat as no match rather than guessing.
                return false;
            }

            int close = rest[1..].IndexOf('"');
            if (close < 0)
            {
                return false;
            }

            var tag = rest[..(close + 2)];
            if (tag.SequenceEqual(opaque) && !(strong && weak))
            {
                return true;
            }

            list = rest[(close + 2)..];
        }

        return false;
    }

    /// <summary>Parses an HTTP-date (IMF-fixdate; the obsolete forms are accepted too, §5.6.7).</summary>
    public static bool TryParseDate(string? value, out DateTimeOffset date)
    {
        date = default;
        return value is not null
            && DateTimeOffset.TryParseExact(value.Trim(), DateFormats, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AllowWhiteSpaces, out date);
    }

    private static readonly string[] DateFormats =
    [
        "r",
        "dddd, dd-MMM-yy HH:mm:ss 'GMT'",
        "ddd MMM d HH:mm:ss yyyy",
    ];

    /// <summary>Formats an IMF-fixdate.</summary>
    public static string FormatDate(DateTimeOffset date) => date.ToUniversalTime().ToString("r", CultureInfo.InvariantCulture);
}
