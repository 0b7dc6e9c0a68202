using System.Net;

namespace Hyperion.Tests.Http2;

/// <summary>HttpClient that speaks HTTP/2 without TLS (prior knowledge) and refuses to fall back.</summary>
public static class H2cClient
{
    public static HttpClient Create(Uri baseAddress) => new(new SocketsHttpHandler
    {
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        EnableMultipleHttp2Connections = false,
    })
    {
        BaseAddress = baseAddress,
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(20),
    };

    /// <summary>A request message pinned to HTTP/2 (messages built by hand default to 1.1).</summary>
    public static HttpRequestMessage Request(HttpMethod method, string uri) => new(method, uri)
    {
        Version = HttpVersion.Version20,
        VersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };
}
