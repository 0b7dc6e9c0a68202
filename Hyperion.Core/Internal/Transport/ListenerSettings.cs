using Hyperion.Internal.Tls;

namespace Hyperion.Internal.Transport;

/// <summary>What one listener gives each connection it accepts: its TLS settings (null: cleartext) and its protocols.</summary>
internal sealed class ListenerSettings
{
    public ListenerSettings(TlsListener? tls, HttpProtocols protocols)
    {
        Tls = tls;
        Protocols = protocols;
    }

    public TlsListener? Tls { get; }

    /// <summary>Already reduced to what the server can speak (HTTP/1.1 alone when HTTP/2 is not enabled).</summary>
    public HttpProtocols Protocols { get; }
}
