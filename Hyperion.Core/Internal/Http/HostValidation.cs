using System.Text;

namespace Hyperion.Internal.Http;

/// <summary>Host header / authority syntax (RFC 9110 §7.2, RFC 3986 §3.2.2), without userinfo.</summary>
internal static class HostValidation
{
    public static bool IsValid(ReadOnlySpan<byte> authority)
    {
        if (authority.IsEmpty || authority.ContainsAnyExcept(HttpChars.Host))
        {
            return false;
        }

        if (!TrySplitPort(authority, out var host, out _))
        {
            return false;
        }

        if (host.IsEmpty)
        {
            return false;
        }

        if (host[0] == (byte)'[')
        {
            // IP-literal: hex digits, ':' and '.' (for an embedded IPv4) between the brackets.
            var inner = host[1..^1];
            if (inner.IsEmpty)
            {
                return false;
            }

            foreach (byte b in inner)
            {
                if (HttpChars.HexValue(b) < 0 && b != (byte)':' && b != (byte)'.')
                {
                    return false;
                }
            }

            return true;
        }

        // reg-name or IPv4: no brackets or colons left, and percent escapes must be complete.
        if (host.IndexOfAny((byte)'[', (byte)']', (byte)':') >= 0)
        {
            return false;
        }

        for (int i = 0; i < host.Length; i++)
        {
            if (host[i] == (byte)'%' && (i + 2 >= host.Length || HttpChars.HexValue(host[i + 1]) < 0 || HttpChars.HexValue(host[i + 2]) < 0))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Splits "host[:port]"; port is -1 when absent or empty. False when the port is not 0–65535 digits or brackets are unbalanced.</summary>
    public static bool TrySplitPort(ReadOnlySpan<byte> authority, out ReadOnlySpan<byte> host, out int port)
    {
        host = authority;
        port = -1;
        int colon;
        if (!authority.IsEmpty && authority[0] == (byte)'[')
        {
            int close = authority.IndexOf((byte)']');
            if (close < 0)
            {
                return false;
            }

            if (close == authority.Length - 1)
            {
                return true;
            }

            if (authority[close + 1] != (byte)':')
            {
                return false;
            }

            colon = close + 1;
        }
        else
        {
            colon = authority.IndexOf((byte)':');
            if (colon < 0)
            {
                return true;
            }
        }

        host = authority[..colon];
        var digits = authority[(colon + 1)..];
        if (digits.IsEmpty)
        {
            return true;
        }

        if (digits.Length > 5)
        {
            return false;
        }

        int value = 0;
        foreach (byte b in digits)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            value = (value * 10) + (b - '0');
        }

        if (value > 65535)
        {
            return false;
        }

        port = value;
        return true;
    }

    /// <summary>Host names compare case-insensitively (RFC 3986 §3.2.2, §6.2.2.1): Host vs. absolute-form or :authority.</summary>
    public static bool SameAuthority(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => Ascii.EqualsIgnoreCase(a, b);
}
