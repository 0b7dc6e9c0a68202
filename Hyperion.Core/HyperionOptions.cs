using Hyperion.Internal.Http;
using Hyperion.Internal.Tls;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Hyperion;

/// <summary>
/// Settings for one <see cref="HyperionServer"/>. Every limit here is enforced by the server;
/// the defaults match or beat Kestrel's.
/// </summary>
public sealed class HyperionOptions
{
    private readonly List<(IPEndPoint Endpoint, TlsListener Tls)> _tlsEndpoints = [];
    private readonly List<(IPEndPoint Endpoint, HttpProtocols Protocols)> _endpointProtocols = [];
    private HttpProtocols _protocols = HttpProtocols.Http1AndHttp2;
    private bool _protocolsSet;

    /// <summary>Address of the default listener, used when <see cref="Endpoints"/> is empty. Default: 127.0.0.1.</summary>
    public IPAddress Address { get; set; } = IPAddress.Loopback;

    /// <summary>Port of the default listener; 0 picks an ephemeral port (read it back from <see cref="HyperionServer.Port"/>). Default: 9292.</summary>
    public int Port { get; set; } = 9292;

    /// <summary>Explicit listeners. When non-empty, <see cref="Address"/> and <see cref="Port"/> are ignored.</summary>
    public IList<IPEndPoint> Endpoints { get; } = new List<IPEndPoint>();

    /// <summary>Adds a listener on <paramref name="address"/>:<paramref name="port"/> serving <see cref="Protocols"/>.</summary>
    public HyperionOptions Listen(IPAddress address, int port)
    {
        Endpoints.Add(new IPEndPoint(address, port));
        return this;
    }

    /// <summary>
    /// Adds a cleartext listener that serves <paramref name="protocols"/>: <see cref="HttpProtocols.Http2"/> for an
    /// h2c-only port (gRPC), <see cref="HttpProtocols.Http1"/> for a port that never speaks HTTP/2.
    /// </summary>
    public HyperionOptions Listen(IPAddress address, int port, HttpProtocols protocols)
    {
        var endpoint = new IPEndPoint(address, port);
        AddProtocols(endpoint, protocols);
        Endpoints.Add(endpoint);
        return this;
    }

    /// <summary>
    /// The protocols of the default listener and of every listener added without its own. Default:
    /// <see cref="HttpProtocols.Http1AndHttp2"/>, which is HTTP/1.1 alone until <c>UseHttp2</c> is called; set
    /// explicitly to a value with HTTP/2, starting without <c>UseHttp2</c> fails.
    /// </summary>
    public HttpProtocols Protocols
    {
        get => _protocols;
        set
        {
            CheckProtocols(value, nameof(value));
            _protocols = value;
            _protocolsSet = true;
        }
    }

    /// <summary>
    /// Adds a listener on <paramref name="address"/>:<paramref name="port"/> that serves HTTPS with
    /// <paramref name="certificate"/> (which must carry its private key): TLS 1.2 or 1.3, ALPN offering
    /// <c>h2</c> (when HTTP/2 is enabled) and <c>http/1.1</c>.
    /// </summary>
    public HyperionOptions ListenTls(IPAddress address, int port, X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return ListenTls(address, port, new TlsListener(certificate, chain: null));
    }

    /// <summary>
    /// As <see cref="ListenTls(IPAddress, int, X509Certificate2)"/>, serving <paramref name="protocols"/>: ALPN offers
    /// exactly those, so a client that shares none of them fails the handshake (no_application_protocol).
    /// </summary>
    public HyperionOptions ListenTls(IPAddress address, int port, X509Certificate2 certificate, HttpProtocols protocols)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return ListenTls(address, port, new TlsListener(certificate, chain: null), protocols);
    }

    /// <summary>As <see cref="ListenTls(IPAddress, int, string, string)"/>, serving <paramref name="protocols"/> (offered in ALPN).</summary>
    public HyperionOptions ListenTls(IPAddress address, int port, string certificatePemPath, string keyPemPath, HttpProtocols protocols)
        => ListenTls(address, port, TlsListener.FromPemFiles(certificatePemPath, keyPemPath), protocols);

    /// <summary>
    /// Adds an HTTPS listener whose certificate and private key are read from PEM files now. Further
    /// certificates in <paramref name="certificatePemPath"/> (a full-chain file) are sent as the chain.
    /// </summary>
    public HyperionOptions ListenTls(IPAddress address, int port, string certificatePemPath, string keyPemPath)
        => ListenTls(address, port, TlsListener.FromPemFiles(certificatePemPath, keyPemPath));

    private HyperionOptions ListenTls(IPAddress address, int port, TlsListener tls, HttpProtocols? protocols = null)
    {
        var endpoint = new IPEndPoint(address, port);
        if (protocols is { } p)
        {
            AddProtocols(endpoint, p);
        }

        Endpoints.Add(endpoint);
        _tlsEndpoints.Add((endpoint, tls));
        return this;
    }

    private void AddProtocols(IPEndPoint endpoint, HttpProtocols protocols)
    {
        CheckProtocols(protocols, nameof(protocols));
        _endpointProtocols.Add((endpoint, protocols));
    }

    private static void CheckProtocols(HttpProtocols protocols, string name)
    {
        if (protocols is not (HttpProtocols.Http1 or HttpProtocols.Http2 or HttpProtocols.Http1AndHttp2))
        {
            throw new ArgumentOutOfRangeException(name, protocols, "Http1, Http2 or Http1AndHttp2.");
        }
    }

    /// <summary>
    /// The protocols of <paramref name="endpoint"/> (matched by reference to what was added), and whether someone
    /// asked for them (an explicit HTTP/2 needs <c>UseHttp2</c>; the default quietly means HTTP/1.1 without it).
    /// </summary>
    internal (HttpProtocols Protocols, bool Explicit) ProtocolsFor(IPEndPoint endpoint)
    {
        foreach (var (ep, protocols) in _endpointProtocols)
        {
            if (ReferenceEquals(ep, endpoint))
            {
                return (protocols, true);
            }
        }

        return (_protocols, _protocolsSet);
    }

    /// <summary>
    /// Serves HTTPS with <paramref name="certificate"/> (which must carry its private key) on the default
    /// listener and on every <see cref="Listen(IPAddress, int)"/> endpoint; <see cref="ListenTls(IPAddress, int, X509Certificate2)"/>
    /// endpoints keep their own certificate. To mix cleartext and TLS listeners, use <see cref="Listen(IPAddress, int)"/> and
    /// <c>ListenTls</c> without this.
    /// </summary>
    public HyperionOptions UseTls(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        DefaultTls = new TlsListener(certificate, chain: null);
        return this;
    }

    /// <summary>As <see cref="UseTls(X509Certificate2)"/>, with the certificate and key read from PEM files now.</summary>
    public HyperionOptions UseTls(string certificatePemPath, string keyPemPath)
    {
        DefaultTls = TlsListener.FromPemFiles(certificatePemPath, keyPemPath);
        return this;
    }

    /// <summary>Time a client on a TLS listener has to complete its handshake; after it the connection is closed. Default: 10 s.</summary>
    public TimeSpan TlsHandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Whether TLS listeners ask clients for a certificate. A certificate a client sends is accepted when it validates
    /// against the machine's trust store, or as <see cref="ClientCertificateValidation"/> decides; the request sees it
    /// as <see cref="RackEnv.ClientCertificate"/>. Default: <see cref="Hyperion.ClientCertificateMode.NoCertificate"/>.
    /// </summary>
    public ClientCertificateMode ClientCertificateMode { get; set; }

    /// <summary>
    /// Decides whether a client certificate is accepted (e.g. pinned or issued by a private CA), given the chain
    /// .NET built and its errors; null accepts only a certificate without errors.
    /// </summary>
    public Func<X509Certificate2, X509Chain?, System.Net.Security.SslPolicyErrors, bool>? ClientCertificateValidation { get; set; }

    internal TlsListener? DefaultTls { get; private set; }

    /// <summary>The TLS settings of <paramref name="endpoint"/> (matched by reference to what was added); null for cleartext.</summary>
    internal TlsListener? TlsFor(IPEndPoint endpoint)
    {
        foreach (var (ep, tls) in _tlsEndpoints)
        {
            if (ReferenceEquals(ep, endpoint))
            {
                return tls;
            }
        }

        return DefaultTls;
    }

    /// <summary>
    /// The connection loop: <see cref="TransportKind.Auto"/> (default) uses io_uring when the kernel offers what
    /// the loop needs and falls back to the epoll loop otherwise (managed sockets off Linux). The environment
    /// variable <c>HYPERION_IO_URING=1</c> forces io_uring whatever is configured; <c>HYPERION_IO_URING=0</c> turns
    /// Auto and IoUring into the fallback and keeps an explicit Epoll or Sockets.
    /// </summary>
    public TransportKind Transport { get; set; } = TransportKind.Auto;

    /// <summary>Number of loop threads of the io_uring and epoll transports, each with its own SO_REUSEPORT listener (and ring). Default: processor count.</summary>
    public int LoopCount { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// Where route delegates, the app and the middleware around them run unless a route says otherwise (the
    /// <c>dispatch</c> argument of <c>Handle</c> and <c>Run</c>): <see cref="DispatchMode.Inline"/> on the loop thread
    /// that read the request (no thread hop), or <see cref="DispatchMode.ThreadPool"/>. Static routes are always
    /// inline. Default: Inline.
    /// </summary>
    public DispatchMode DefaultDispatch { get; set; } = DispatchMode.Inline;

    /// <summary>
    /// How long an inline callback (route, app, middleware chain) may hold its thread before the watchdog logs one
    /// Warning naming the route (and, with <see cref="OffloadBlockingRoutes"/>, moves it to the thread pool). On the
    /// io_uring and epoll loops the warning comes while the callback still runs. A route's first call may take ten
    /// times as long (it includes JIT compilation and first-use setup). Time the thread waited for a CPU or a GC meanwhile
    /// is not counted (Linux). Null turns the watchdog off. Default: 50 ms.
    /// </summary>
    public TimeSpan? LoopStallThreshold { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// When the watchdog sees a route exceed <see cref="LoopStallThreshold"/> inline, that route runs with
    /// <see cref="DispatchMode.ThreadPool"/> from then on (one Warning says so), so a blocking route slows itself,
    /// not the loop. Default: true.
    /// </summary>
    public bool OffloadBlockingRoutes { get; set; } = true;

    /// <summary>
    /// Provided receive buffers per io_uring loop (a power of two; 4 KiB each). Idle connections hold none;
    /// when all are in use a receive waits for one to come back. Default: 256 (1 MiB per loop).
    /// </summary>
    public int IoUringBufferCount { get; set; } = 256;

    /// <summary>Accept backlog of each listening socket. Default: 512.</summary>
    public int ListenBacklog { get; set; } = 512;

    /// <summary>
    /// Longest request line (method, target, version, CR) in bytes; longer gets 414 when the target is the longer
    /// part, else 501 (400 for a method that is not a token). HTTP/2 measures "METHOD /path HTTP/1.1". Default: 8 KiB.
    /// </summary>
    public int MaxRequestLineSize { get; set; } = 8 * 1024;

    /// <summary>Largest header section (all field lines) in bytes; larger gets 431. HTTP/2 advertises and enforces at most this as its header list size. Default: 32 KiB.</summary>
    public int MaxRequestHeadersTotalSize { get; set; } = 32 * 1024;

    /// <summary>Most header fields in one request (Host included; HTTP/2 counts :authority as Host); more gets 431. Default: 100.</summary>
    public int MaxRequestHeaderCount { get; set; } = 100;

    /// <summary>
    /// Largest request body in bytes, each request's starting <see cref="RackEnv.MaxRequestBodySize"/> (which a middleware
    /// or handler may change before reading): a larger declared length gets 413 at the first read, before a byte of the
    /// body; a chunked one when it grows past it. Null: no limit. Default: 30,000,000.
    /// </summary>
    public long? MaxRequestBodySize { get; set; } = 30_000_000;

    /// <summary>
    /// Most response bytes one connection buffers before it flushes (HTTP/1.1 pipelined responses, HTTP/2 frames of
    /// one read batch); past it the connection stops parsing further requests until the socket has drained, so a
    /// client that does not read holds at most this plus one response. Null: no bound (one flush per read batch).
    /// Default: 64 KiB, as Kestrel's MaxResponseBufferSize (with 1 MiB, 1,000 clients that never read held 640 MiB of
    /// RSS in bench/abuse.sh).
    /// </summary>
    public long? MaxUnflushedResponseBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// Time allowed to receive a whole request head once its first byte arrived; on breach 408 and close. Over HTTP/2,
    /// a header block (HEADERS and its CONTINUATIONs) unfinished this long ends the connection with GOAWAY
    /// ENHANCE_YOUR_CALM. Default: 30 s.
    /// </summary>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an idle keep-alive connection is kept open waiting for its next request. Default: 130 s.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(130);

    /// <summary>Minimum request body data rate in bytes per second, checked after <see cref="MinRequestBodyDataRateGracePeriod"/>; slower gets 408 and close. 0 disables. Default: 240.</summary>
    public double MinRequestBodyDataRate { get; set; } = 240;

    /// <summary>Grace period before <see cref="MinRequestBodyDataRate"/> is enforced. Default: 5 s.</summary>
    public TimeSpan MinRequestBodyDataRateGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Minimum response data rate in bytes per second while a write waits on the client: each flush allows
    /// <see cref="MinResponseDataRateGracePeriod"/> plus its bytes at this rate; a client that reads slower (or not
    /// at all) has its connection closed. Time the app spends producing the response does not count. Null disables.
    /// Default: 240.
    /// </summary>
    public double? MinResponseDataRate { get; set; } = 240;

    /// <summary>Grace period each response write gets before <see cref="MinResponseDataRate"/> applies. Default: 5 s.</summary>
    public TimeSpan MinResponseDataRateGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The clock every timeout reads (keep-alive, request headers, data rates, TLS handshake, HTTP/2 timers, the stop
    /// timeout). Tests pass a fake one and move it instead of sleeping. Default: <see cref="TimeProvider.System"/>.
    /// </summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Most connections open at once; a connection beyond it gets 503 and is closed. Null: no limit. Default: null.</summary>
    public int? MaxConcurrentConnections { get; set; }

    /// <summary>How long <see cref="HyperionServer.RunAsync"/> waits for in-flight requests on SIGINT/SIGTERM. Default: 10 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Value of the <c>Server</c> response header; null omits it. Default: "Hyperion".</summary>
    public string? ServerHeader { get; set; } = "Hyperion";

    /// <summary>
    /// Static routes registered after this is set get, when their content type is compressible and their body at
    /// least the minimum size, pre-built gzip and Brotli variants chosen by <c>Accept-Encoding</c> (with
    /// <c>Vary: Accept-Encoding</c>). Built at registration, at the best level; <see cref="ResponseCompressionOptions.Level"/>
    /// is not used. Null: static routes are never compressed. Default: on, with the default options.
    /// </summary>
    public ResponseCompressionOptions? StaticCompression { get; set; } = new();

    /// <summary>
    /// Logger factory for access and error logs. Default: none, and then warnings and errors (handler exceptions, loop
    /// stalls, transport fallback) go to stderr, one line each; Information and below are not written.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Where the no-LoggerFactory lines go; null is <see cref="Console.Error"/>. Tests capture it per server.</summary>
    internal TextWriter? StandardError { get; set; }

    /// <summary>The one rule both protocols apply: with this much written and not yet flushed, flush (and wait for the drain) before parsing more.</summary>
    internal bool IsOverUnflushedBound(long unflushed) => MaxUnflushedResponseBytes is long max && unflushed >= max;

    internal void Validate()
    {
        static void Positive(string name, long value)
        {
            if (value <= 0)
            {
                throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive.");
            }
        }

        Positive(nameof(MaxRequestLineSize), MaxRequestLineSize);
        Positive(nameof(MaxRequestHeadersTotalSize), MaxRequestHeadersTotalSize);
        Positive(nameof(MaxRequestHeaderCount), MaxRequestHeaderCount);
        Positive(nameof(ListenBacklog), ListenBacklog);
        Positive(nameof(LoopCount), LoopCount);
        if (IoUringBufferCount is < 1 or > 32768 || (IoUringBufferCount & (IoUringBufferCount - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(IoUringBufferCount), IoUringBufferCount, "A power of two from 1 to 32768.");
        }
        Positive(nameof(RequestHeadersTimeout), RequestHeadersTimeout.Ticks);
        Positive(nameof(KeepAliveTimeout), KeepAliveTimeout.Ticks);
        Positive(nameof(TlsHandshakeTimeout), TlsHandshakeTimeout.Ticks);
        if (MaxRequestBodySize is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRequestBodySize));
        }

        if (MaxUnflushedResponseBytes is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxUnflushedResponseBytes));
        }

        if (MaxConcurrentConnections is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrentConnections));
        }

        if (MinRequestBodyDataRate < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MinRequestBodyDataRate));
        }

        if (MinResponseDataRate is <= 0 || MinResponseDataRateGracePeriod < TimeSpan.Zero || MinRequestBodyDataRateGracePeriod < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MinResponseDataRate), "Data rates must be positive (null disables) and grace periods not negative.");
        }

        ArgumentNullException.ThrowIfNull(TimeProvider);
        if (LoopStallThreshold is { } stall && stall <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(LoopStallThreshold), stall, "LoopStallThreshold must be positive (null turns the watchdog off).");
        }

        if (!Enum.IsDefined(DefaultDispatch))
        {
            throw new ArgumentOutOfRangeException(nameof(DefaultDispatch));
        }
        if (ServerHeader is not null && !HeaderValidation.IsValidValue(ServerHeader))
        {
            throw new ArgumentException("ServerHeader contains characters not allowed in a header value.", nameof(ServerHeader));
        }
    }
}
