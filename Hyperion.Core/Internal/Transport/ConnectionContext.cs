using System.Net;
using System.Net.Sockets;
using System.IO.Pipelines;
using Hyperion.Internal.Timeouts;
using Hyperion.Internal.Tls;

namespace Hyperion.Internal.Transport;

/// <summary>What the protocol code may know about the transport under it.</summary>
internal sealed class ConnectionContext
{
    public ConnectionContext(IPEndPoint? remote, int localPort, string scheme, Socket? socket)
    {
        Remote = remote;
        LocalPort = localPort;
        Scheme = scheme;
        Socket = socket;
    }

    /// <summary>A connection accepted by <paramref name="listener"/>: on a TLS listener scheme https and no raw socket (bytes must go through TLS).</summary>
    public ConnectionContext(IPEndPoint? remote, int localPort, ListenerSettings listener, Socket? socket)
        : this(remote, localPort, listener.Tls is null ? "http" : "https", listener.Tls is null ? socket : null)
    {
        Tls = listener.Tls;
        Protocols = listener.Protocols;
    }

    public IPEndPoint? Remote { get; }

    public int LocalPort { get; }

    public string Scheme { get; }

    /// <summary>The raw socket when bytes go to it unchanged (no TLS), so files can use sendfile.</summary>
    public Socket? Socket { get; }

    /// <summary>The listener's TLS settings; null on a cleartext listener.</summary>
    public TlsListener? Tls { get; }

    public bool IsTls => Tls is not null;

    /// <summary>The listener's protocols; <see cref="Http.HttpConnection"/> picks among them.</summary>
    public HttpProtocols Protocols { get; } = HttpProtocols.Http1AndHttp2;

    /// <summary>The connection the server tracks (set by <see cref="Http.HttpConnection"/>); sessions untrack it when they abort themselves.</summary>
    public Http.HttpConnection? Connection { get; set; }

    /// <summary>The ALPN protocol the TLS handshake chose (<c>h2</c>, <c>http/1.1</c>); null without TLS or when the client offered none.</summary>
    public string? NegotiatedProtocol { get; set; }

    /// <summary>The certificate the client presented in the TLS handshake (<see cref="HyperionOptions.ClientCertificateMode"/>); null when none.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? ClientCertificate { get; set; }

    /// <summary>Set by the transport: tears the connection down at once (used after the stop timeout).</summary>
    public Action? Abort
    {
        get => _abort ?? (_abortCallback is { } callback ? () => callback(_abortState) : null);
        set => _abort = value;
    }

    private Action? _abort;
    private Action<object?>? _abortCallback;
    private object? _abortState;

    /// <summary>
    /// Sets <see cref="Abort"/> as a static callback and its state, so an idle connection keeps no delegate
    /// of its own (issue #3: memory per idle connection); the delegate is made only when something aborts.
    /// </summary>
    public void SetAbort(Action<object?> callback, object? state)
    {
        _abortCallback = callback;
        _abortState = state;
    }

    /// <summary>Where this connection's protocol code runs: its loop thread for a cleartext loop connection, else the thread pool. Timeout expiries are handled here.</summary>
    public PipeScheduler Scheduler { get; init; } = PipeScheduler.ThreadPool;

    /// <summary>The connection's one timeout controller, set by <see cref="HyperionServer.CreateConnection"/>; every session layered on the connection uses it.</summary>
    public TimeoutControl Timeouts { get; set; } = null!;

    public string RemoteText => Remote?.ToString() ?? "in-process";
}
