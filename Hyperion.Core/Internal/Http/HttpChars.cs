using System.Buffers;

namespace Hyperion.Internal.Http;

/// <summary>Byte classes from RFC 9110 §5.6.2 (token), §5.5 (field value) and RFC 3986 (targets, hosts).</summary>
internal static class HttpChars
{
    public const byte CR = (byte)'\r';
    public const byte LF = (byte)'\n';
    public const byte SP = (byte)' ';
    public const byte HT = (byte)'\t';
    public const byte Colon = (byte)':';

    private const string Alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

    /// <summary>tchar: the bytes of a method or a field name.</summary>
    public static readonly SearchValues<byte> Token = SearchValues.Create("!#$%&'*+-.^_`|~"u8.ToArray().Concat(Bytes(Alnum)).ToArray());

    /// <summary>field-vchar, SP and HTAB; obs-text (0x80–0xFF) is allowed as RFC 9110 §5.5 says.</summary>
    public static readonly SearchValues<byte> FieldValue = SearchValues.Create(Range(0x20, 0x7E).Concat(Range(0x80, 0xFF)).Append((byte)'\t').ToArray());

    /// <summary>Visible ASCII except '#': what a request target may hold (fragments are never sent, RFC 9112 §3.2).</summary>
    public static readonly SearchValues<byte> Target = SearchValues.Create(Range(0x21, 0x7E).Where(b => b != (byte)'#').ToArray());

    /// <summary>reg-name / IPv4 bytes plus '[', ']' and ':' for IP literals and the port (RFC 3986 §3.2.2).</summary>
    public static readonly SearchValues<byte> Host = SearchValues.Create(Bytes(Alnum + "-._~!$&'()*+,;=%[]:"));

    public static readonly SearchValues<byte> HexDigits = SearchValues.Create(Bytes("0123456789abcdefABCDEF"));

    private static byte[] Bytes(string s) => s.Select(c => (byte)c).ToArray();

    private static IEnumerable<byte> Range(int from, int to)
    {
        for (int i = from; i <= to; i++)
        {
            yield return (byte)i;
        }
    }

    public static bool IsToken(ReadOnlySpan<byte> s) => !s.IsEmpty && !s.ContainsAnyExcept(Token);

    public static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
