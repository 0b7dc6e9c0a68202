using System.Text;

namespace Hyperion.Internal.Http;

/// <summary>Common field names as interned strings; a name spelled exactly like one of these costs no allocation.</summary>
internal static class KnownHeaderNames
{
    private static readonly string[] Names =
    [
        "Host", "host", "Accept", "accept", "Accept-Encoding", "accept-encoding", "Accept-Language", "accept-language",
        "User-Agent", "user-agent", "Connection", "connection", "Content-Type", "content-type", "Content-Length",
        "content-length", "Cookie", "cookie", "Authorization", "authorization", "Cache-Control", "cache-control",
        "Referer", "referer", "Origin", "origin", "Transfer-Encoding", "transfer-encoding", "Expect", "expect",
        "Upgrade", "upgrade", "TE", "te", "If-None-Match", "if-none-match", "If-Modified-Since", "if-modified-since",
        "X-Forwarded-For", "x-forwarded-for", "X-Request-Id", "x-request-id",
    ];

    public static string GetOrCreate(ReadOnlySpan<byte> name)
    {
        foreach (var known in Names)
        {
            if (known.Length == name.Length && Ascii.Equals(name, known))
            {
                return known;
            }
        }

        return Encoding.ASCII.GetString(name);
    }
}
