namespace Hyperion.Internal.Timeouts;

/// <summary>Why a connection's <see cref="TimeoutControl"/> fired. The deadline kinds come first; they index its slots.</summary>
internal enum TimeoutReason
{
    None = 0,

    /// <summary>An idle connection waited longer than <see cref="HyperionOptions.KeepAliveTimeout"/> for its next request.</summary>
    KeepAlive = 1,

    /// <summary>A request head took longer than <see cref="HyperionOptions.RequestHeadersTimeout"/>.</summary>
    RequestHeaders = 2,

    /// <summary>The TLS handshake took longer than <see cref="HyperionOptions.TlsHandshakeTimeout"/>.</summary>
    TlsHandshake = 3,

    /// <summary>HTTP/2: our SETTINGS were not acknowledged in time (RFC 9113 §6.5.3).</summary>
    SettingsAck = 4,

    /// <summary>HTTP/2 graceful stop: the PING after the first GOAWAY did not come back in time.</summary>
    GoAwayPing = 5,

    /// <summary>HTTP/2 keepalive: nothing was received for the ping delay, so a PING goes out.</summary>
    KeepAlivePing = 6,

    /// <summary>HTTP/2 keepalive: nothing, not even the PING's ACK, came back within the ping timeout.</summary>
    KeepAlivePingAck = 7,

    /// <summary>The client sent the request body slower than <see cref="HyperionOptions.MinRequestBodyDataRate"/> while the app was reading.</summary>
    ReadDataRate = 8,

    /// <summary>The client took the response slower than <see cref="HyperionOptions.MinResponseDataRate"/> while a write waited on it.</summary>
    WriteDataRate = 9,

    /// <summary>HTTP/2: a stream-level deadline (body rate, window stall) passed; the connection checks its streams.</summary>
    StreamDeadline = 10,
}
