namespace Hyperion.Internal.Http;

/// <summary>Checks for response field names and values supplied by apps (RFC 9110 §5.1, §5.5).</summary>
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
}
