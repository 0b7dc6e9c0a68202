namespace Hyperion;

/// <summary>
/// The HTTP versions a listener serves. On TLS listeners ALPN offers exactly these; on cleartext listeners
/// <see cref="Http1AndHttp2"/> tells them apart by the HTTP/2 preface (or <c>Upgrade: h2c</c>), and
/// <see cref="Http2"/> speaks only HTTP/2 (h2c by prior knowledge, as gRPC ports do).
/// </summary>
[Flags]
public enum HttpProtocols
{
    /// <summary>HTTP/1.1 (and 1.0) only: an HTTP/2 preface is a malformed HTTP/1.1 request, <c>Upgrade: h2c</c> is ignored.</summary>
    Http1 = 1,

    /// <summary>
    /// HTTP/2 only. Cleartext: a connection that does not open with the client preface gets GOAWAY PROTOCOL_ERROR
    /// and is closed (RFC 9113 §3.4). TLS: ALPN offers <c>h2</c> alone. Requires <c>UseHttp2</c>.
    /// </summary>
    Http2 = 2,

    /// <summary>Both, on one port (the default): HTTP/2 when <c>UseHttp2</c> was called, else HTTP/1.1 alone.</summary>
    Http1AndHttp2 = Http1 | Http2,
}
