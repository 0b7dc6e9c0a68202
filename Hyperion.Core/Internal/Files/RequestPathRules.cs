using System.Buffers;
using System.Text;

namespace Hyperion.Internal.Files;

/// <summary>What a request path below a file root turned out to be.</summary>
internal enum RequestPathKind
{
    /// <summary>Clean segments naming a file (or, with a trailing slash, a directory).</summary>
    Clean,

    /// <summary>Not a clean relative path: answered 400 before the file system is touched.</summary>
    Malformed,

    /// <summary>A clean path with a dot-prefixed segment while hidden files are not served: answered 404.</summary>
    Hidden,
}

/// <summary>
/// Turns the raw (still percent-encoded) part of a request path below a file root into file-system segments, or
/// refuses it. Only one spelling is accepted for every name, so there is nothing left for the file system to
/// normalise: dot segments (RFC 3986 §3.3, any encoding), empty segments, an encoded slash or backslash inside a
/// segment, a raw backslash, NUL and other controls, malformed percent-encoding and invalid or overlong UTF-8 are
/// all malformed.
/// </summary>
internal static class RequestPathRules
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Parses <paramref name="raw"/> (empty, or starting with '/'). <paramref name="relative"/> is the segments joined
    /// with '/', decoded; <paramref name="trailingSlash"/> says the path names a directory.
    /// </summary>
    public static RequestPathKind Parse(string raw, bool serveHidden, out string relative, out bool trailingSlash)
    {
        relative = string.Empty;
        trailingSlash = raw.Length > 0 && raw[^1] == '/';
        if (raw.Length == 0)
        {
            return RequestPathKind.Clean;
        }

        if (raw[0] != '/')
        {
            return RequestPathKind.Malformed;
        }

        if (raw.Length == 1)
        {
            return RequestPathKind.Clean;
        }

        var body = raw.AsSpan(1, raw.Length - (trailingSlash ? 2 : 1));

        var builder = new StringBuilder(body.Length);
        var bytes = ArrayPool<byte>.Shared.Rent(body.Length);
        bool hidden = false;
        try
        {
            foreach (var range in body.Split('/'))
            {
                var segment = body[range];
                if (segment.IsEmpty || !TryDecode(segment, bytes, out int length))
                {
                    return RequestPathKind.Malformed;
                }

                string name;
                try
                {
                    name = StrictUtf8.GetString(bytes, 0, length);
                }
                catch (DecoderFallbackException)
                {
                    // Invalid or overlong UTF-8 (%c0%ae is an overlong '.').
                    return RequestPathKind.Malformed;
                }

                if (name is "." or "..")
                {
                    return RequestPathKind.Malformed;
                }

                hidden |= name[0] == '.';
                if (builder.Length > 0)
                {
                    builder.Append('/');
                }

                builder.Append(name);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }

        relative = builder.ToString();
        return hidden && !serveHidden ? RequestPathKind.Hidden : RequestPathKind.Clean;
    }

    /// <summary>Percent-decodes one segment, refusing bytes that would change its meaning on disk: '/', '\', controls.</summary>
    private static bool TryDecode(ReadOnlySpan<char> segment, byte[] output, out int length)
    {
        length = 0;
        for (int i = 0; i < segment.Length; i++)
        {
            int b = segment[i];
            if (b == '%')
            {
                if (i + 2 >= segment.Length || !IsHex(segment[i + 1]) || !IsHex(segment[i + 2]))
                {
                    return false;
                }

                b = (HexValue(segment[i + 1]) << 4) | HexValue(segment[i + 2]);
                i += 2;
            }
            else if (b > 0x7E)
            {
                // The request line is ASCII; anything else was not sent percent-encoded as RFC 3986 §2.1 asks.
                return false;
            }

            if (b is < 0x20 or 0x7F or '/' or '\\')
            {
                return false;
            }

            output[length++] = (byte)b;
        }

        return true;
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
