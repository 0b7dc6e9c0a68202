namespace Hyperion.Internal.Http;

/// <summary>The origin-form target rules (RFC 9112 §3.2.1, RFC 9113 §8.3.1 <c>:path</c>), one copy for both protocols.</summary>
internal static class RequestTargetRules
{
    /// <summary>
    /// "/path[?query]": visible ASCII but '#', complete percent escapes, no escape that decodes to NUL, CR or LF
    /// (a later decoder would hand them to the app as line breaks), no backslash in the path (some stacks read
    /// it as '/', which makes two parsers disagree on the path). False on any of these.
    /// </summary>
    public static bool IsValidOriginForm(ReadOnlySpan<byte> target)
    {
        if (target.IsEmpty || target[0] != (byte)'/' || target.ContainsAnyExcept(HttpChars.Target))
        {
            return false;
        }

        int q = target.IndexOf((byte)'?');
        var path = q < 0 ? target : target[..q];
        return path.IndexOf((byte)'\\') < 0 && PercentEscapesAreSafe(target);
    }

    /// <summary>Every '%' starts two hex digits, and none of them decodes to NUL, CR or LF.</summary>
    public static bool PercentEscapesAreSafe(ReadOnlySpan<byte> s)
    {
        int i = s.IndexOf((byte)'%');
        while (i >= 0)
        {
            if (i + 2 >= s.Length)
            {
                return false;
            }

            int hi = HttpChars.HexValue(s[i + 1]);
            int lo = HttpChars.HexValue(s[i + 2]);
            if (hi < 0 || lo < 0)
            {
                return false;
            }

            int decoded = (hi << 4) | lo;
            if (decoded is 0 or '\r' or '\n')
            {
                return false;
            }

            s = s[(i + 3)..];
            i = s.IndexOf((byte)'%');
        }

        return true;
    }
}
