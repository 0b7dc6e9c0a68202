using System.Text;

namespace Hyperion.Internal.Http;

/// <summary>Interned method strings, so parsing a standard method allocates nothing and compares by reference.</summary>
internal static class KnownMethods
{
    public const string Get = "GET";
    public const string Head = "HEAD";
    public const string Post = "POST";
    public const string Put = "PUT";
    public const string Delete = "DELETE";
    public const string Options = "OPTIONS";
    public const string Patch = "PATCH";
    public const string Trace = "TRACE";
    public const string Connect = "CONNECT";

    public static string GetOrCreate(ReadOnlySpan<byte> method) => method.Length switch
    {
        3 when method.SequenceEqual("GET"u8) => Get,
        3 when method.SequenceEqual("PUT"u8) => Put,
        4 when method.SequenceEqual("POST"u8) => Post,
        4 when method.SequenceEqual("HEAD"u8) => Head,
        5 when method.SequenceEqual("PATCH"u8) => Patch,
        5 when method.SequenceEqual("TRACE"u8) => Trace,
        6 when method.SequenceEqual("DELETE"u8) => Delete,
        7 when method.SequenceEqual("OPTIONS"u8) => Options,
        7 when method.SequenceEqual("CONNECT"u8) => Connect,
        _ => Encoding.ASCII.GetString(method),
    };

    /// <summary>Returns the interned instance for a registered method name, so lookups compare by reference.</summary>
    public static string Intern(string method) => GetOrCreate(Encoding.ASCII.GetBytes(method));
}
