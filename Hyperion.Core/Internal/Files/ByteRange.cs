namespace Hyperion.Internal.Files;

/// <summary>What a Range header asks of a representation of a known length (RFC 9110 §14.1.2, §14.2).</summary>
internal enum RangeOutcome
{
    /// <summary>No usable range: the whole representation is sent (200). Also for a syntax error or several ranges.</summary>
    Full,

    /// <summary>One satisfiable range: 206 with Content-Range.</summary>
    Partial,

    /// <summary>One range that does not overlap the representation: 416 with <c>Content-Range: bytes */length</c>.</summary>
    Unsatisfiable,
}

/// <summary>Parses a single-range <c>Range: bytes=…</c> header.</summary>
internal static class ByteRange
{
    /// <summary>
    /// Evaluates <paramref name="header"/> against a representation of <paramref name="length"/> bytes. Several ranges
    /// are answered with the whole representation (200): a server may ignore Range (RFC 9110 §14.2), and one body sent
    /// with sendfile beats multipart/byteranges, which few clients ask for.
    /// </summary>
    public static RangeOutcome Evaluate(string header, long length, out long offset, out long count)
    {
        offset = 0;
        count = length;
        var value = header.AsSpan().Trim(" \t");
        if (value.Length < 6 || !value[..6].Equals("bytes=", StringComparison.OrdinalIgnoreCase))
        {
            // Another range unit, or not a range: ignored (§14.1: an unknown unit is ignored).
            return RangeOutcome.Full;
        }

        var spec = value[6..].Trim(" \t");
        if (spec.Contains(','))
        {
            return RangeOutcome.Full;
        }

        int dash = spec.IndexOf('-');
        if (dash < 0)
        {
            return RangeOutcome.Full;
        }

        var firstText = spec[..dash];
        var lastText = spec[(dash + 1)..];
        if (firstText.IsEmpty)
        {
            // suffix-range "-N": the last N bytes (§14.1.2); N = 0 overlaps nothing.
            if (!TryDigits(lastText, out long suffix))
            {
                return RangeOutcome.Full;
            }

            if (suffix == 0 || length == 0)
            {
                return RangeOutcome.Unsatisfiable;
            }

            count = Math.Min(suffix, length);
            offset = length - count;
            return RangeOutcome.Partial;
        }

        if (!TryDigits(firstText, out long first))
        {
            return RangeOutcome.Full;
        }

        long last = long.MaxValue;
        if (!lastText.IsEmpty && !TryDigits(lastText, out last))
        {
            return RangeOutcome.Full;
        }

        if (last < first)
        {
            // Invalid, not unsatisfiable (§14.1.1): the header is ignored.
            return RangeOutcome.Full;
        }

        if (first >= length)
        {
            return RangeOutcome.Unsatisfiable;
        }

        offset = first;
        count = Math.Min(last, length - 1) - first + 1;
        return RangeOutcome.Partial;
    }

    private static bool TryDigits(ReadOnlySpan<char> text, out long value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 18)
        {
            // 18 digits fit in a long; a larger position is beyond any file anyway, but not worth guessing about.
            return false;
        }

        foreach (char c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }
}
