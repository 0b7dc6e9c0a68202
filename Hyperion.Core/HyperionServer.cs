using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Hyperion.Internal.Dispatch;
using Hyperion.Internal.Http;
using Hyperion.Internal.Http1;
using Hyperion.Internal.Infrastructure;
using Hyperion.Internal.Routing;
using Hyperion.Internal.Timeouts;
using Hyperion.Internal.Transport;
using Hyperion.Internal.Transport.Epoll;
using Hyperion.Internal.Transport.IoUring;
using Hyperion.Internal.Transport.Loops;
using Microsoft.Extensions.ObjectPool;

namespace Hyperion;

/// <summary>
/// An HTTP/1.1 server. Register routes and an app, then <see cref="StartAsync"/> or <see cref="RunAsync"/>.
/// Everything belongs to the instance: two servers in one process never see each other's routes. The static
/// members (<c>HyperionServer.Handle(…)</c>, <c>HyperionServer.RunAsync()</c>; see <see cref="DefaultServer"/>) are a
/// facade over one such instance, <see cref="Default"/>.
/// </summary>
public sealed class HyperionServer : IAsyncDisposable
{
    private static readonly Lock DefaultLock = new();
    private static HyperionServer? _default;
    private readonly ObjectPool<RackEnv> _envPool;
    private readonly ConcurrentDictionary<IProtocolConnection, byte> _connections = new();
    private readonly List<SocketListener> _listeners = [];
    private LoopTransport? _loops;
    private IReadOnlyList<IPEndPoint> _endpoints = [];
    private ListenerSettings[] _listenerSettings = [];
    private readonly Lock _lifecycle = new();
    private readonly Heartbeat _heartbeat;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _connectionCount;
    private volatile bool _stopping;
    private long _kernelFileBytes;
    private bool _started;
    private Task? _stopTask;

    /// <summary>Creates a server with <paramref name="options"/> (defaults when null).</summary>
    public HyperionServer(HyperionOptions? options = null)
    {
        Options = options ?? new HyperionOptions();
        Options.Validate();
        Log = new ServerLog(Options.LoggerFactory, Options.StandardError);
        ServerHeaderLine = Options.ServerHeader is null ? [] : Encoding.Latin1.GetBytes($"Server: {Options.ServerHeader}\r\n");
        _envPool = new DefaultObjectPool<RackEnv>(new EnvPolicy(), Environment.ProcessorCount * 8);
        var pool = new PinnedBlockMemoryPool();
        MemoryPool = pool;
        ReaderOptions = new StreamPipeReaderOptions(pool, bufferSize: PinnedBlockMemoryPool.BlockSize, minimumReadSize: 1024, leaveOpen: true, useZeroByteReads: true);
        WriterOptions = new StreamPipeWriterOptions(pool, minimumBufferSize: PinnedBlockMemoryPool.BlockSize, leaveOpen: true);
        InMemoryPipeOptions = new PipeOptions(pool, minimumSegmentSize: PinnedBlockMemoryPool.BlockSize, useSynchronizationContext: false);
        _heartbeat = new Heartbeat(Options.TimeProvider, OnHeartbeat);
        Watchdog = new LoopWatchdog(Options, Log);
    }

    /// <summary>
    /// The process-wide server that the static members (<c>HyperionServer.Handle(…)</c>, <c>HyperionServer.RunAsync()</c>,
    /// see <see cref="DefaultServer"/>) register on and run, as Go's <c>DefaultServeMux</c>. Created on first use with
    /// default options, or by <see cref="ConfigureDefault"/>. Tests and processes with several servers use instances.
    /// </summary>
    public static HyperionServer Default
    {
        get
        {
            lock (DefaultLock)
            {
                return _default ??= new HyperionServer();
            }
        }
    }

    /// <summary>
    /// Creates <see cref="Default"/> with <paramref name="options"/>; call it before the first static registration.
    /// Throws when the default server already exists.
    /// </summary>
    public static HyperionServer ConfigureDefault(HyperionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        lock (DefaultLock)
        {
            if (_default is not null)
            {
                throw new InvalidOperationException("The default server already exists: call HyperionServer.ConfigureDefault before the first HyperionServer.Handle, Run, Use or RunAsync.");
            }

            return _default = new HyperionServer(options);
        }
    }

    /// <summary>The options this server was created with.</summary>
    public HyperionOptions Options { get; }

    /// <summary>The bound listener endpoints (ports resolved), available after <see cref="StartAsync"/>.</summary>
    public IReadOnlyList<IPEndPoint> Endpoints => _endpoints;

    /// <summary>The port of the first listener, available after <see cref="StartAsync"/> (useful with port 0).</summary>
    public int Port => _endpoints.Count > 0 ? _endpoints[0].Port : throw new InvalidOperationException("The server has not been started.");

    /// <summary>The transport serving connections once started: <see cref="TransportKind.IoUring"/> or <see cref="TransportKind.Sockets"/>.</summary>
    public TransportKind ActiveTransport { get; private set; } = TransportKind.Auto;

    /// <summary>The base URL of the first listener, e.g. <c>http://127.0.0.1:9292/</c> (<c>https://</c> on a TLS listener).</summary>
    public Uri BaseAddress
    {
        get
        {
            var ep = _endpoints.Count > 0 ? _endpoints[0] : throw new InvalidOperationException("The server has not been started.");
            var host = ep.Address.Equals(IPAddress.Any) ? "127.0.0.1" : ep.Address.Equals(IPAddress.IPv6Any) ? "[::1]" : ep.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ep.Address}]" : ep.Address.ToString();
            return new Uri($"{SchemeOf(0)}://{host}:{ep.Port}/");
        }
    }

    /// <summary>Number of open connections.</summary>
    public int ConnectionCount => Volatile.Read(ref _connectionCount);

    internal RouteTable Routes { get; } = new();

    /// <summary>
    /// Set by Hyperion.Http2 when HTTP/2 is enabled: builds an HTTP/2 session over a connection that
    /// <see cref="HttpConnection"/> has chosen to run as HTTP/2. Null: HTTP/1.1 only.
    /// </summary>
    internal Func<HyperionServer, PipeReader, PipeWriter, ConnectionContext, IProtocolConnection>? Http2ConnectionFactory { get; set; }

    internal RackApp? App { get; private set; }

    /// <summary>
    /// Asked before the app, 404 or 405 answer a request no route matched; a non-default response is the answer.
    /// Hyperion.Grpc sets it so a gRPC request for an unknown method gets UNIMPLEMENTED rather than 404. Null: no cost.
    /// </summary>
    internal Func<RackEnv, RackResponse>? UnmatchedRequestAnswer { get; set; }

    /// <summary>The app's dispatch mode and watchdog state (named "the app" in log lines).</summary>
    internal DispatchTarget AppDispatch { get; private set; } = new("the app", null);

    /// <summary>The middleware chain around a request no route matched, when there is no app (it ends in 404 or 405).</summary>
    internal DispatchTarget UnmatchedDispatch { get; } = new("the middleware (request matching no route)", null);

    /// <summary>Notices inline callbacks that hold their thread too long; see <see cref="HyperionOptions.LoopStallThreshold"/>.</summary>
    internal LoopWatchdog Watchdog { get; }

    /// <summary>The middleware chain around every non-static request.</summary>
    internal MiddlewarePipeline Pipeline { get; } = new();

    internal LifecycleHooks Hooks { get; } = new();

    internal DateHeaderCache Date { get; } = new();

    internal ServerLog Log { get; }

    internal byte[] ServerHeaderLine { get; }

    internal PinnedBlockMemoryPool MemoryPool { get; }

    internal StreamPipeReaderOptions ReaderOptions { get; }

    internal StreamPipeWriterOptions WriterOptions { get; }

    internal PipeOptions InMemoryPipeOptions { get; }

    internal bool IsStopping => _stopping;

    /// <summary>File body bytes the kernel sent straight from the page cache (sendfile), on every transport.</summary>
    internal long KernelFileBytes => Interlocked.Read(ref _kernelFileBytes);

    internal void CountKernelFileBytes(long bytes) => Interlocked.Add(ref _kernelFileBytes, bytes);

    /// <summary>The server's clock and the tick that drives every connection's timeouts.</summary>
    internal Heartbeat Heartbeat => _heartbeat;

    // ---------------- routes ----------------

    /// <summary>
    /// A static route: the response bytes are built now, once, and served with a fresh Date.
    /// A GET registration also answers HEAD (headers only). <paramref name="path"/> is an exact path: a template
    /// throws <see cref="ArgumentException"/> (a pre-built response has no values to fill in). A GET route answering 200 gets a strong <c>ETag</c>
    /// (a hash of the body, unless <paramref name="headers"/> give one) and answers a matching <c>If-None-Match</c>
    /// with 304; with <see cref="HyperionOptions.StaticCompression"/> set (the default) a compressible body of at least
    /// its minimum size also gets gzip and Brotli variants, chosen by <c>Accept-Encoding</c>. No middleware sees
    /// static routes.
    /// </summary>
    public void HandleStatic(string method, string path, string body, string contentType = "text/plain", int status = 200, IEnumerable<(string Name, string Value)>? headers = null)
        => HandleStatic(method, path, Encoding.UTF8.GetBytes(body ?? throw new ArgumentNullException(nameof(body))), contentType, status, headers);

    /// <summary>A static route with a byte body; see <see cref="HandleStatic(string, string, string, string, int, IEnumerable{ValueTuple{string, string}}?)"/>.</summary>
    public void HandleStatic(string method, string path, ReadOnlyMemory<byte> body, string contentType, int status = 200, IEnumerable<(string Name, string Value)>? headers = null)
    {
        var (interned, pattern) = CheckRoute(method, path);
        if (pattern.IsTemplate)
        {
            throw new ArgumentException($"'{path}' is a route template; static routes are pre-built responses for one exact path. Use Handle for templates.", nameof(path));
        }

        var compression = Options.StaticCompression is { } sc ? new CompressionPolicy(sc) : null;
        var response = new StaticResponse(status, contentType ?? throw new ArgumentNullException(nameof(contentType)), body.ToArray(), headers, Options.ServerHeader, compression, conditional: ReferenceEquals(interned, "GET"));
        Routes.Add(new RouteEntry { Kind = RouteKind.Static, Method = interned, Path = path, Pattern = pattern, Static = response });
    }

    /// <summary>
    /// A dynamic-block route: a synchronous delegate over the env, run inline on the connection's loop unless
    /// <paramref name="dispatch"/> (default: <see cref="HyperionOptions.DefaultDispatch"/>) says ThreadPool.
    /// <paramref name="path"/> is an exact path (<c>/todos</c>) or a template (<c>/todos/{id}</c>, <c>/files/{path...}</c>)
    /// whose values the handler reads from <see cref="RackEnv.RouteValues"/>. Registering the same method and path
    /// twice, or a template that conflicts with another of the same method, throws <see cref="ArgumentException"/>.
    /// </summary>
    /// <remarks>
    /// Preferred over the <see cref="ValueTask"/> overload when a lambda fits both (<c>env => throw …</c>), which
    /// would otherwise be ambiguous (CS0121).
    /// </remarks>
    [OverloadResolutionPriority(1)]
    public void Handle(string method, string path, Func<RackEnv, RackResponse> handler, DispatchMode? dispatch = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var (interned, pattern) = CheckRoute(method, path);
        Routes.Add(new RouteEntry { Kind = RouteKind.Dynamic, Method = interned, Path = path, Pattern = pattern, Sync = handler, RequestedDispatch = CheckDispatch(dispatch) });
    }

    /// <summary>A dynamic-block route with an asynchronous delegate; it runs inline until its first real await. Paths as for the synchronous overload.</summary>
    public void Handle(string method, string path, Func<RackEnv, ValueTask<RackResponse>> handler, DispatchMode? dispatch = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var (interned, pattern) = CheckRoute(method, path);
        Routes.Add(new RouteEntry { Kind = RouteKind.Dynamic, Method = interned, Path = path, Pattern = pattern, Async = handler, RequestedDispatch = CheckDispatch(dispatch) });
    }

    /// <summary>A legacy route: the handler receives a fully read <see cref="Request"/>. Paths as for the synchronous overload.</summary>
    public void Handle(string method, string path, IRequestHandler handler, DispatchMode? dispatch = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var (interned, pattern) = CheckRoute(method, path);
        Routes.Add(new RouteEntry { Kind = RouteKind.Legacy, Method = interned, Path = path, Pattern = pattern, Legacy = handler, RequestedDispatch = CheckDispatch(dispatch) });
    }

    /// <summary>
    /// Sets the Rack-like app for every request whose path no route matches (without an app such a request is
    /// 404). A path that some route matches, but not for the request's method, is 405 with an Allow header
    /// whether or not an app is set. <paramref name="dispatch"/> (default: <see cref="HyperionOptions.DefaultDispatch"/>)
    /// says where it and the middleware around it run.
    /// </summary>
    public void Run(RackApp app, DispatchMode? dispatch = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        AppDispatch = new DispatchTarget("the app", CheckDispatch(dispatch));
        App = app;
    }

    private static DispatchMode? CheckDispatch(DispatchMode? dispatch)
        => dispatch is { } mode && !Enum.IsDefined(mode) ? throw new ArgumentOutOfRangeException(nameof(dispatch)) : dispatch;

    /// <summary>
    /// Adds a middleware, Rack's <c>use</c>: <paramref name="middleware"/> receives the next handler and returns the
    /// handler that wraps it. The first one added is the outermost. The chain is composed once, when the server starts
    /// (or <see cref="CreateClient"/> is first called); adding one after that throws. Middleware wraps dynamic, legacy
    /// and template routes, the app, and the server's own 404, 405 and <c>OPTIONS *</c> answers; static routes are
    /// pre-built bytes and bypass it.
    /// </summary>
    public void Use(Func<RackApp, RackApp> middleware)
    {
        ArgumentNullException.ThrowIfNull(middleware);
        lock (_lifecycle)
        {
            if (Pipeline.IsComposed)
            {
                throw new InvalidOperationException("Middleware is composed when the server starts; add it before StartAsync or CreateClient.");
            }

            Pipeline.Add(middleware);
        }
    }

    /// <summary>Adds a middleware object; see <see cref="Use(Func{RackApp, RackApp})"/>.</summary>
    public void Use(IRackMiddleware middleware)
    {
        ArgumentNullException.ThrowIfNull(middleware);
        Use(next => env => middleware.InvokeAsync(env, next));
    }

    /// <summary>Serves the files below <paramref name="directory"/> under <paramref name="prefix"/>; see <see cref="MapFiles(string, string, StaticFileOptions)"/>.</summary>
    public void MapFiles(string prefix, string directory) => MapFiles(prefix, directory, new StaticFileOptions());

    /// <summary>
    /// Serves the files below <paramref name="directory"/> under <paramref name="prefix"/> (e.g. <c>/assets</c>; <c>/</c>
    /// for the whole site), registered as the template route <c>GET {prefix}/{path...}</c> (and <c>GET {prefix}</c>,
    /// which redirects to the slash), so more specific routes win and middleware wraps it: GET and HEAD (other
    /// methods: 405 with Allow), content types by extension, <c>ETag</c> and
    /// <c>Last-Modified</c> with 304 for <c>If-None-Match</c>/<c>If-Modified-Since</c>, a single <c>Range</c> (206/416,
    /// <c>If-Range</c>), <see cref="StaticFileOptions.IndexFile"/> for directories, bodies sent with sendfile(2).
    /// A path that is not a clean relative path (dot segments, encoded '/', backslash, NUL, bad UTF-8) gets 400;
    /// one that names nothing servable (missing, hidden, a link out of the root, not a regular file) gets 404.
    /// </summary>
    public void MapFiles(string prefix, string directory, StaticFileOptions options)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(options);
        if (prefix.Length == 0 || prefix[0] != '/' || prefix.Contains('{') || prefix.Contains('}') || prefix.Contains('%') || prefix.Contains("//", StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{prefix}' is not a valid file mount point: literal segments only.", nameof(prefix));
        }

        string mount = prefix.TrimEnd('/');
        var handler = new Internal.Files.StaticFileHandler(directory, options, Log);

        // GET {prefix}/{path...} (HEAD falls back to GET; the router answers other methods with 405 + Allow), and the
        // mount point itself, which redirects to its slash. The handler reads the raw path rather than the decoded
        // route value, so an encoded '/' or '..' is refused instead of decoded into a separator.
        Handle("GET", mount + "/{path...}", env => handler.Serve(env, env.Path[mount.Length..]));
        if (mount.Length > 0)
        {
            Handle("GET", mount, env => handler.Serve(env, string.Empty));
        }
    }

    /// <summary>Adds a hook run when a request's head has been read, before dispatch. Exceptions are logged and ignored.</summary>
    public void OnRequestStart(Action<RackEnv> hook) => Hooks.AddStart(hook ?? throw new ArgumentNullException(nameof(hook)));

    /// <summary>Adds a hook run after a response has been written (response null and exception set when the request failed).</summary>
    public void OnRequestEnd(Action<RackEnv, RackResponse?, Exception?> hook) => Hooks.AddEnd(hook ?? throw new ArgumentNullException(nameof(hook)));

    /// <summary>Validates a registration and parses its path (an exact path or a template); returns the interned method.</summary>
    private static (string Method, RoutePattern Pattern) CheckRoute(string method, string path)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(path);
        if (!HttpChars.IsToken(Encoding.ASCII.GetBytes(method)) || method.Any(c => c > 0x7F))
        {
            throw new ArgumentException($"'{method}' is not a valid method token.", nameof(method));
        }

        if (path != "*" && (path.Length == 0 || path[0] != '/' || path.Any(c => c > 0x7E || !HttpChars.Target.Contains((byte)c) || c == '?')))
        {
            throw new ArgumentException($"'{path}' is not a valid route path: it must start with '/' and hold only visible ASCII, without '?' or '#'.", nameof(path));
        }

        return (KnownMethods.Intern(method), RoutePattern.Parse(path));
    }

    // ---------------- lifecycle ----------------

    /// <summary>Binds every listener and starts accepting. Throws if a port cannot be bound.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var endpoints = Options.Endpoints.Count > 0 ? Options.Endpoints.ToList() : [new IPEndPoint(Options.Address, Options.Port)];
        var listeners = endpoints.Select(SettingsFor).ToArray();
        lock (_lifecycle)
        {
            if (_started)
            {
                throw new InvalidOperationException("The server has already been started.");
            }

            if (_stopping)
            {
                throw new InvalidOperationException("The server has been stopped.");
            }

            _started = true;
            Pipeline.Compose(this);
        }

        var kind = ChooseTransport(out string why, out bool fellBack);
        if (kind is TransportKind.IoUring or TransportKind.Epoll)
        {
            var loops = kind == TransportKind.IoUring
                ? new LoopTransport((i, sockets) => new IoUringLoop(this, i, sockets, listeners, Options.IoUringBufferCount))
                : new LoopTransport((i, sockets) => new EpollLoop(this, i, sockets, listeners));
            await loops.StartAsync(endpoints, Options.LoopCount, Options.ListenBacklog).ConfigureAwait(false);
            _loops = loops;
            _endpoints = loops.Endpoints;
            why = why.Length > 0 ? $"{why}; {loops.Detail}" : loops.Detail;
        }
        else
        {
            try
            {
                for (int i = 0; i < endpoints.Count; i++)
                {
                    _listeners.Add(new SocketListener(this, endpoints[i], listeners[i], Options.ListenBacklog));
                }
            }
            catch
            {
                foreach (var l in _listeners)
                {
                    l.StopAccepting();
                }

                _listeners.Clear();
                throw;
            }

            _endpoints = _listeners.Select(l => l.EndPoint).ToArray();
            foreach (var l in _listeners)
            {
                l.Start();
            }
        }

        _listenerSettings = listeners;
        ActiveTransport = kind;
        EnsureHeartbeat();
        string transportName = kind switch { TransportKind.IoUring => "io_uring", TransportKind.Epoll => "epoll", _ => "sockets" };
        if (fellBack)
        {
            Log.TransportFallback(transportName, why);
        }
        else
        {
            Log.Transport(transportName, why);
        }
        for (int i = 0; i < _endpoints.Count; i++)
        {
            Log.Listening($"{SchemeOf(i)}://{_endpoints[i]}");
        }
    }

    private string SchemeOf(int endpoint) => endpoint < _listenerSettings.Length && _listenerSettings[endpoint].Tls is not null ? "https" : "http";

    /// <summary>
    /// A listener's TLS and protocols, reduced to what this server speaks: without <c>UseHttp2</c> the default
    /// Http1AndHttp2 is HTTP/1.1, and protocols that ask for HTTP/2 explicitly are a configuration error.
    /// </summary>
    private ListenerSettings SettingsFor(IPEndPoint endpoint)
    {
        var (protocols, isExplicit) = Options.ProtocolsFor(endpoint);
        if (Http2ConnectionFactory is null && (protocols & HttpProtocols.Http2) != 0)
        {
            if (isExplicit)
            {
                throw new InvalidOperationException(
                    $"The listener {endpoint} is configured for {protocols}, but HTTP/2 is not enabled: call server.UseHttp2() (package Hyperion.Http2) before starting, or use HttpProtocols.Http1.");
            }

            protocols = HttpProtocols.Http1;
        }

        return new ListenerSettings(Options.TlsFor(endpoint), protocols);
    }

    private TransportKind ChooseTransport(out string why, out bool fellBack)
    {
        fellBack = false;
        var kind = Options.Transport;
        string? env = Environment.GetEnvironmentVariable("HYPERION_IO_URING");
        if (env == "1")
        {
            kind = TransportKind.IoUring;
        }

        if (kind is TransportKind.Sockets or TransportKind.Epoll)
        {
            if (kind == TransportKind.Epoll && !OperatingSystem.IsLinux())
            {
                throw new PlatformNotSupportedException("The epoll transport runs on Linux only.");
            }

            why = "chosen by configuration";
            return kind;
        }

        if (env == "0")
        {
            why = "io_uring turned off by HYPERION_IO_URING=0, falling back to " + FallbackName;
        }
        else
        {
            // Probed at each start, not once per process: a sysctl or seccomp policy can change under us.
            var (supported, reason) = Hyperion.Native.IoUringSupport.Probe();
            if (supported)
            {
                why = string.Empty;
                return TransportKind.IoUring;
            }

            if (kind == TransportKind.IoUring)
            {
                throw new InvalidOperationException("io_uring was required but is unavailable: " + reason);
            }

            why = $"io_uring unavailable, falling back to {FallbackName}: {reason}";
            fellBack = true;
        }

        return OperatingSystem.IsLinux() ? TransportKind.Epoll : TransportKind.Sockets;
    }

    /// <summary>Auto without io_uring: the epoll loop on Linux, System.Net.Sockets elsewhere.</summary>
    private static string FallbackName => OperatingSystem.IsLinux() ? "epoll" : "sockets";

    /// <summary>
    /// Stops gracefully: stops accepting at once, closes idle keep-alive connections, lets in-flight
    /// requests finish (answered with Connection: close), and force-closes what is left after
    /// <paramref name="timeout"/> (default <see cref="HyperionOptions.ShutdownTimeout"/>). Idempotent.
    /// </summary>
    public Task StopAsync(TimeSpan? timeout = null)
    {
        lock (_lifecycle)
        {
            return _stopTask ??= StopCoreAsync(timeout ?? Options.ShutdownTimeout);
        }
    }

    private async Task StopCoreAsync(TimeSpan timeout)
    {
        _stopping = true;
        foreach (var l in _listeners)
        {
            l.StopAccepting();
        }

        _loops?.StopAccepting();
        await Task.WhenAll(_listeners.Select(l => l.AcceptLoop)).ConfigureAwait(false);
        Log.Stopping(_connections.Count);
        foreach (var c in _connections.Keys)
        {
            c.OnStopping();
        }

        if (!await WaitDrainedAsync(timeout).ConfigureAwait(false))
        {
            Log.StopForced(_connections.Count);
            foreach (var c in _connections.Keys)
            {
                c.Abort();
            }

            await WaitDrainedAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }

        if (_loops is not null)
        {
            await _loops.ShutdownAsync().ConfigureAwait(false);
        }

        _heartbeat.Dispose();
    }

    /// <summary>True when every connection closed within <paramref name="timeout"/> on the server's clock.</summary>
    private async Task<bool> WaitDrainedAsync(TimeSpan timeout)
    {
        if (_connections.IsEmpty)
        {
            return true;
        }

        try
        {
            await _drained.Task.WaitAsync(timeout, Options.TimeProvider).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return _connections.IsEmpty;
        }
    }

    /// <summary>
    /// Starts (unless already started), then runs until SIGINT or SIGTERM (or <paramref name="cancellationToken"/>),
    /// then stops gracefully within <see cref="HyperionOptions.ShutdownTimeout"/>.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        bool started;
        lock (_lifecycle)
        {
            started = _started;
        }

        if (!started)
        {
            await StartAsync(cancellationToken).ConfigureAwait(false);
        }

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.TrySetResult();
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var registration = cancellationToken.Register(() => stop.TrySetResult());
        await stop.Task.ConfigureAwait(false);
        await StopAsync(Options.ShutdownTimeout).ConfigureAwait(false);
    }

    /// <summary>Stops the server (see <see cref="StopAsync"/>).</summary>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    // ---------------- in-process client ----------------

    /// <summary>
    /// An <see cref="HttpClient"/> whose requests run through this server's HTTP/1.1 connection code over an
    /// in-memory duplex pipe: no socket, no port, no <see cref="StartAsync"/> needed. The way to unit-test an app.
    /// </summary>
    public HttpClient CreateClient()
    {
        lock (_lifecycle)
        {
            Pipeline.Compose(this);
        }

        var handler = new SocketsHttpHandler
        {
            ConnectCallback = (_, _) => new ValueTask<Stream>(OpenInProcessConnection()),
            UseCookies = false,
            AllowAutoRedirect = false,
            UseProxy = false,
        };
        return new HttpClient(handler) { BaseAddress = new Uri("http://localhost/") };
    }

    internal Stream OpenInProcessConnection()
    {
        if (_stopping)
        {
            throw new HttpRequestException("The server is stopping.");
        }

        if (!TryReserveConnection())
        {
            throw new HttpRequestException("MaxConcurrentConnections reached.");
        }

        EnsureHeartbeat();
        var toServer = new Pipe(InMemoryPipeOptions);
        var toClient = new Pipe(InMemoryPipeOptions);
        // No listener: HTTP/1.1 (and h2c when HTTP/2 is enabled), whatever the listeners' protocols.
        var context = new ConnectionContext(null, 80, "http", null);
        var connection = CreateConnection(toServer.Reader, toClient.Writer, context);
        context.Abort = () => toServer.Writer.Complete();
        Track(connection);
        BackgroundTasks.Observe(Task.Run(async () =>
        {
            try
            {
                await connection.RunAsync().ConfigureAwait(false);
            }
            finally
            {
                Untrack(connection);
            }
        }), Log, "in-process connection");
        return new TransportPipeStream(toClient.Reader, toServer.Writer, ownsPipes: true);
    }

    // ---------------- connections, pooling, heartbeat ----------------

    internal bool TryReserveConnection()
    {
        int limit = Options.MaxConcurrentConnections ?? int.MaxValue;
        while (true)
        {
            int current = Volatile.Read(ref _connectionCount);
            if (current >= limit)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _connectionCount, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    internal void ReleaseConnection() => Interlocked.Decrement(ref _connectionCount);

    internal void Track(IProtocolConnection connection)
    {
        _connections.TryAdd(connection, 0);
        if (_stopping)
        {
            connection.OnStopping();
        }
    }

    internal void Untrack(IProtocolConnection connection)
    {
        if (_connections.TryRemove(connection, out _))
        {
            ReleaseConnection();
            if (_stopping && _connections.IsEmpty)
            {
                _drained.TrySetResult();
            }
        }
    }

    /// <summary>
    /// The one place a transport turns a connection's pipes into a tracked connection. Every transport
    /// (sockets, io_uring, epoll, in-process) calls this; <see cref="HttpConnection"/> selects the protocol.
    /// </summary>
    internal IProtocolConnection CreateConnection(PipeReader input, PipeWriter output, ConnectionContext context)
    {
        context.Timeouts = new TimeoutControl(_heartbeat, context.Scheduler, Options);
        return new HttpConnection(this, input, output, context);
    }

    internal RackEnv RentEnv() => _envPool.Get();

    internal void ReturnEnv(RackEnv env) => _envPool.Return(env);

    private void EnsureHeartbeat() => _heartbeat.Start();

    /// <summary>Heartbeat thread: each connection only compares its deadlines and queues what expired on its own scheduler.</summary>
    private void OnHeartbeat(long now)
    {
        foreach (var c in _connections.Keys)
        {
            c.OnHeartbeat(now);
        }
    }

    private sealed class EnvPolicy : PooledObjectPolicy<RackEnv>
    {
        public override RackEnv Create() => new();

        public override bool Return(RackEnv obj)
        {
            obj.Reset();
            return true;
        }
    }
}
