namespace Hyperion.Internal.Http;

/// <summary>
/// Field rules for both protocols: names and values (RFC 9110 §5.1, §5.5) as apps supply them for responses
/// and as clients send them in requests, Content-Length (RFC 9110 §8.6) and the connection-specific fields
/// (RFC 9113 §8.2.2).
/// </summary>
internal static class HeaderValidation
{
    public static bool IsValidName(string name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return false;
        }

        foreach (char c in name)
        {
            if (c > 0x7F || !HttpChars.Token.Contains((byte)c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>No CR, LF, NUL or other controls but HTAB, and nothing beyond Latin-1 (it could not be sent as one byte).</summary>
    public static bool IsValidValue(string value)
    {
        foreach (char c in value)
        {
            if ((c < 0x20 && c != '\t') || c == 0x7F || c > 0xFF)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A request field name: a token (RFC 9110 §5.1). HTTP/2 also requires lowercase (RFC 9113 §8.2.1).</summary>
    public static bool IsValidName(ReadOnlySpan<byte> name) => HttpChars.IsToken(name);

    /// <summary>A request field value after OWS is trimmed: field-vchar, SP, HTAB and obs-text; no NUL, CR, LF or other controls.</summary>
    public static bool IsValidValue(ReadOnlySpan<byte> value) => !value.ContainsAnyExcept(HttpChars.FieldValue);

    /// <summary>1*DIGIT, no sign, no inner spaces, no leading zeros (ambiguous to some parsers), fits a long.</summary>
    public static bool TryParseContentLength(ReadOnlySpan<byte> value, out long length)
    {
        length = -1;
        if (value.IsEmpty || value.Length > 18 || (value.Length > 1 && value[0] == (byte)'0'))
        {
            return false;
        }

        long n = 0;
        foreach (byte b in value)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            n = (n * 10) + (b - '0');
        }

        length = n;
        return true;
    }

    /// <summary>
    /// RFC 9113 §8.2.2: fields that only mean something to one HTTP/1.1 connection. A request carrying one is
    /// malformed in HTTP/2; a response never sends them there. <paramref name="name"/> is lowercase.
    /// </summary>
    public static bool IsConnectionSpecific(ReadOnlySpan<byte> name) => name.Length switch
    {
        7 => name.SequenceEqual("upgrade"u8),
        10 => name.SequenceEqual("connection"u8) || name.SequenceEqual("keep-alive"u8),
        16 => name.SequenceEqual("proxy-connection"u8),
        17 => name.SequenceEqual("transfer-encoding"u8),
        _ => false,
    };

    /// <summary><see cref="IsConnectionSpecific(ReadOnlySpan{byte})"/> for an app's response field name, any case.</summary>
    public static bool IsConnectionSpecific(string name) => name.Length switch
    {
        7 => name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase),
        10 => name.Equals("Connection", StringComparison.OrdinalIgnoreCase) || name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase),
        16 => name.Equals("Proxy-Connection", StringComparison.OrdinalIgnoreCase),
        17 => name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase),
        _ => false,
    };
}
