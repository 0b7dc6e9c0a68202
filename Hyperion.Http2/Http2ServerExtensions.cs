using Hyperion.Http2.Internal;

namespace Hyperion;

/// <summary>Turns HTTP/2 on for a <see cref="HyperionServer"/>.</summary>
public static class Http2ServerExtensions
{
    /// <summary>
    /// Serves HTTP/2 besides HTTP/1.1 on every listener whose <see cref="HttpProtocols"/> allow it (all, by
    /// default): h2c by prior knowledge (a connection that opens with the HTTP/2 preface) and by
    /// <c>Upgrade: h2c</c> on cleartext listeners, and <c>h2</c> through ALPN on TLS listeners. The same routes
    /// and app answer both protocols. Call before starting; listeners configured for HTTP/2 require it.
    /// </summary>
    public static HyperionServer UseHttp2(this HyperionServer server, Http2Options? options = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        var o = options ?? new Http2Options();
        o.Validate();
        server.Http2ConnectionFactory = (s, input, output, context) => new Http2Connection(s, input, output, context, o);
        return server;
    }
}
