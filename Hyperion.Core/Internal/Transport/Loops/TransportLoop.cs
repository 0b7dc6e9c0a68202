using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Hyperion.Internal.Infrastructure;
using Hyperion.Native;

namespace Hyperion.Internal.Transport.Loops;

/// <summary>
/// One loop thread owning its SO_REUSEPORT listeners and the connections they accept. Received bytes are handed
/// to the protocol inline, so a synchronous route is answered on this thread before the next event is looked at;
/// work that goes async leaves the thread and hands its output back through <see cref="Post"/>.
/// The kernel interface (io_uring, epoll) is the subclass's; accepting, connection lifetime, the lingering close
/// and the work queues are shared here.
/// </summary>
internal abstract class TransportLoop
{
    [ThreadStatic]
    private static TransportLoop? t_current;

    private readonly ConcurrentQueue<(Action<object?> Action, object? State)> _remote = new();
    private readonly Queue<(Action<object?> Action, object? State)> _local = new();
    private readonly Thread _thread;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int[] _listenerPorts;
    private readonly IReadOnlyList<ListenerSettings> _listenerSettings;
    private readonly PipeOptions _inputOptions;
    private readonly PipeOptions _tlsInputOptions;
    private int _wakeRequested;
    private int _eventFd = -1;
    private ulong _nextId = 1;
    private long _nextTick;

    protected TransportLoop(HyperionServer server, int index, Socket[] listeners, IReadOnlyList<ListenerSettings> listenerSettings, string threadName)
    {
        Server = server;
        Index = index;
        Listeners = listeners;
        _listenerPorts = listeners.Select(l => ((IPEndPoint)l.LocalEndPoint!).Port).ToArray();
        _listenerSettings = listenerSettings;
        Scheduler = new LoopScheduler(this);
        _inputOptions = InputOptions(PipeScheduler.Inline);

        // TLS connections read on the thread pool: a handshake costs about a millisecond of CPU and every record
        // needs decrypting, which on the loop thread would stall every other connection of the loop.
        _tlsInputOptions = InputOptions(PipeScheduler.ThreadPool);
        _thread = new Thread(Run) { IsBackground = true, Name = $"{threadName}-{index}" };
        Slot = new Dispatch.InlineCallSlot(_thread.Name);

        PipeOptions InputOptions(PipeScheduler readerScheduler) => new(server.MemoryPool, readerScheduler, writerScheduler: Scheduler,
            pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, minimumSegmentSize: 4096, useSynchronizationContext: false);
    }

    public int Index { get; }

    public LoopScheduler Scheduler { get; }

    public HyperionServer Server { get; }

    internal ServerLog Log => Server.Log;

    protected Socket[] Listeners { get; }

    protected Dictionary<ulong, LoopConnection> Connections { get; } = [];

    protected bool AcceptStopped { get; set; }

    protected bool Exiting { get; private set; }

    /// <summary>True when posted work waits, so the next wait for events must not block.</summary>
    protected bool HasWork => _local.Count > 0 || !_remote.IsEmpty;

    /// <summary>True on a loop thread, where blocking would stall every connection of the loop.</summary>
    public static bool IsLoopThread => t_current is not null;

    /// <summary>This thread's loop; null off the loops.</summary>
    internal static TransportLoop? Current => t_current;

    /// <summary>
    /// A wake-up was asked for and the loop has not consumed it yet. Once the loop has nothing left to do it is false:
    /// stuck true, every later <see cref="Post"/> from another thread skips its signal and waits for the next tick.
    /// </summary>
    internal bool WakePending => Volatile.Read(ref _wakeRequested) != 0;

    /// <summary>This thread's loop's record of the inline call it runs, for the watchdog's monitor; null off the loops.</summary>
    public static Dispatch.InlineCallSlot? CurrentSlot => t_current?.Slot;

    /// <summary>What this loop runs inline right now (read by <see cref="Dispatch.LoopWatchdog"/>).</summary>
    public Dispatch.InlineCallSlot Slot { get; }

    /// <summary>True on this loop's own thread.</summary>
    public bool IsCurrentThread => t_current == this;

    /// <summary>Describes the kernel setup once started (for the transport log line).</summary>
    public virtual string Detail => string.Empty;

    public Task StartAsync()
    {
        _thread.Start();
        return _started.Task;
    }

    public Task Exited => _exited.Task;

    /// <summary>Queues work for the loop thread; from another thread, wakes the loop if it sleeps.</summary>
    public void Post(Action<object?> action, object? state)
    {
        if (t_current == this)
        {
            _local.Enqueue((action, state));
            return;
        }

        _remote.Enqueue((action, state));
        if (Interlocked.Exchange(ref _wakeRequested, 1) == 0)
        {
            Wake();
        }
    }

    public void StopAccepting() => Post(static s => ((TransportLoop)s!).StopAcceptingOnLoop(), this);

    public void Exit() => Post(static s => ((TransportLoop)s!).Exiting = true, this);

    /// <summary>The eventfd other threads signal to wake the loop; the subclass watches it and calls <see cref="WakeConsumed"/>.</summary>
    protected int EventFd => _eventFd;

    /// <summary>Makes a sleeping <see cref="WaitAndDispatch"/> return (any thread).</summary>
    private void Wake()
    {
        int fd = Volatile.Read(ref _eventFd);
        if (fd >= 0)
        {
            SocketHelpers.Signal(fd);
        }
    }

    /// <summary>Called by the subclass once its wake-up has been consumed, so the next <see cref="Post"/> wakes again.</summary>
    protected void WakeConsumed()
    {
        Volatile.Write(ref _wakeRequested, 0);
        WakeConsumedHook?.Invoke(this);
    }

    /// <summary>Tests only: runs on the loop thread right after a wake-up was consumed, where a post from another thread must still wake the loop.</summary>
    internal static Action<TransportLoop>? WakeConsumedHook { get; set; }

    /// <summary>Loop thread, before the first iteration: create the kernel objects and arm the listeners.</summary>
    protected abstract void Setup();

    /// <summary>Loop thread: hand queued I/O to the kernel, wait for events (not at all when <paramref name="block"/> is false, else at most until <paramref name="timeoutMs"/>) and dispatch them.</summary>
    protected abstract void WaitAndDispatch(bool block, int timeoutMs);

    /// <summary>Loop thread, after the loop ended and every connection closed: release the kernel objects.</summary>
    protected abstract void Teardown();

    /// <summary>Stops the connection's receiving (back-pressure); <see cref="EnsureRecv"/> starts it again.</summary>
    public abstract void CancelRecv(LoopConnection c);

    /// <summary>Starts receiving for the connection unless it already is, or no longer wants input.</summary>
    public abstract void EnsureRecv(LoopConnection c);

    /// <summary>Sends <paramref name="length"/> bytes at <paramref name="data"/> (pinned until the send completes); completion calls <see cref="LoopConnection.OnSendCompleted"/> on this thread, never from inside this call.</summary>
    public abstract void SubmitSend(LoopConnection c, nint data, uint length);

    /// <summary>Like <see cref="SubmitSend"/> for a gathered send: <paramref name="message"/> is a struct msghdr whose iovecs stay valid until completion.</summary>
    public abstract void SubmitSendMessage(LoopConnection c, nint message);

    /// <summary>
    /// Like <see cref="SubmitSend"/> for a file body: sendfile(2) of up to <paramref name="length"/> bytes of
    /// <paramref name="fileFd"/> from <paramref name="offset"/>, made from the loop thread on the non-blocking socket
    /// (waiting for writability, not blocking, when the socket buffer is full). The result is the bytes taken, 0 when
    /// the file ended first, or -errno; the descriptor stays open until then.
    /// </summary>
    public abstract void SubmitSendFile(LoopConnection c, int fileFd, long offset, int length);

    /// <summary>Stops the kernel work in flight for a connection that is being closed; the descriptor is closed after this.</summary>
    protected abstract void ReleaseIo(LoopConnection c);

    /// <summary>
    /// Gives the connection's descriptor back to the kernel. The number is free for the next accept (of any loop, or
    /// any open in the process) the moment this runs, so a subclass that queues work naming the fd must close it
    /// in order after that work: a request that resolves the number later would reach whoever reused it.
    /// </summary>
    protected virtual void CloseDescriptor(LoopConnection c) => SocketHelpers.Close(c.Fd);

    /// <summary>Stops accepting on this loop's listeners (kernel side); the base disposes the listener sockets.</summary>
    protected abstract void StopListeners();

    private void Run()
    {
        t_current = this;
        try
        {
            _eventFd = SocketHelpers.CreateEventFd();
            Setup();
        }
        catch (Exception ex)
        {
            SafeTeardown();
            t_current = null;
            _started.TrySetException(ex);
            _exited.TrySetResult();
            return;
        }

        Server.Watchdog.Watch(Slot);
        _started.TrySetResult();
        // The server's clock (HyperionOptions.TimeProvider), so a test's fake clock also ends lingering closes.
        _nextTick = Server.Heartbeat.Now + 1000;
        try
        {
            while (!Exiting)
            {
                RunWork();
                if (Exiting)
                {
                    break;
                }

                long now = Server.Heartbeat.Now;
                if (now >= _nextTick)
                {
                    _nextTick = now + 1000;
                    OnTick(now);
                }

                WaitAndDispatch(!HasWork, (int)Math.Clamp(_nextTick - now, 1, 1000));
            }
        }
        catch (Exception ex)
        {
            Server.Log.LoopFailed(Index, ex);
        }
        finally
        {
            foreach (var c in Connections.Values.ToArray())
            {
                CloseNow(c);
            }

            SafeTeardown();
            Server.Watchdog.Unwatch(Slot);
            t_current = null;
            _exited.TrySetResult();
        }
    }

    private void SafeTeardown()
    {
        if (!AcceptStopped)
        {
            foreach (var l in Listeners)
            {
                l.Dispose();
            }
        }

        Teardown();

        // Forget the descriptor before closing it, so a late Post does not signal whatever reuses the number.
        int eventFd = Interlocked.Exchange(ref _eventFd, -1);
        if (eventFd >= 0)
        {
            SocketHelpers.Close(eventFd);
        }
    }

    private void RunWork()
    {
        // Bounded: work queued while running waits for the next iteration, so I/O is never starved.
        int budget = _local.Count;
        while (budget-- > 0 && _local.TryDequeue(out var item))
        {
            item.Action(item.State);
        }

        while (_remote.TryDequeue(out var item))
        {
            item.Action(item.State);
        }
    }

    /// <summary>A socket the kernel accepted on listener <paramref name="listener"/>: admit it (or refuse it over the limit) and start its protocol.</summary>
    protected void OnAccepted(int listener, int fd)
    {
        if (AcceptStopped || Exiting)
        {
            SocketHelpers.Close(fd);
            return;
        }

        var remote = SocketHelpers.GetPeer(fd);
        if (!Server.TryReserveConnection())
        {
            Server.Log.ConnectionLimit(remote?.ToString() ?? "?");
            if (_listenerSettings[listener].Tls is null)
            {
                // A TLS client only gets the close: plain bytes would be a bogus TLS record.
                SocketHelpers.WriteAll(fd, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8);
            }

            SocketHelpers.Close(fd);
            return;
        }

        SocketHelpers.SetNoDelay(fd);
        var settings = _listenerSettings[listener];
        var tls = settings.Tls;
        var connection = new LoopConnection(this, fd, _nextId++, remote, _listenerPorts[listener], settings, tls is null ? _inputOptions : _tlsInputOptions);
        Connections[connection.Id] = connection;
        if (!TryRegister(connection, out var error))
        {
            // The kernel refused to watch it (epoll: max_user_watches, ENOMEM): this connection goes, the loop stays.
            Server.Log.ConnectionError(connection.Context.RemoteText, error);
            CloseNow(connection);
            return;
        }

        EnsureRecv(connection);
        var protocol = Server.CreateConnection(connection.Input.Reader, connection.Output, connection.Context);
        connection.Protocol = protocol;
        Server.Track(protocol);
        if (tls is null)
        {
            BackgroundTasks.Observe(protocol.RunAsync(), Server.Log, "connection");
        }
        else
        {
            ThreadPool.UnsafeQueueUserWorkItem(static s => BackgroundTasks.Observe(s.Protocol.RunAsync(), s.Log, "connection"), (Protocol: protocol, Server.Log), preferLocal: false);
        }
    }

    /// <summary>Loop thread: registers a new connection with the kernel before its first receive is armed; false (with the error) when refused.</summary>
    protected virtual bool TryRegister(LoopConnection c, [NotNullWhen(false)] out Exception? error)
    {
        error = null;
        return true;
    }

    /// <summary>The receive side ended: 0 is EOF, a negative value an errno. Returns false when the connection was closed.</summary>
    protected bool OnReceiveEnded(LoopConnection c, int result)
    {
        c.CompleteInput(result == 0 ? null : new IOException($"recv failed: errno {-result}"));
        if (c.Lingering)
        {
            CloseNow(c);
            return false;
        }

        return true;
    }

    /// <summary>The protocol finished and its output is sent: close, lingering briefly if the client may still be sending.</summary>
    public void OnOutputDone(LoopConnection c)
    {
        if (c.Closed)
        {
            return;
        }

        if (c.InputCompleted && c.Protocol?.EndedByPeer != false)
        {
            CloseNow(c);
            return;
        }

        // Closing with unread input makes the kernel send RST, which can destroy the response the
        // client has not read yet (RFC 9112 §9.6): half-close and discard input for a short while.
        c.CompleteInput(null);
        c.Lingering = true;
        c.LingerDeadline = Server.Heartbeat.Now + 2000;

        // A plain syscall on every loop, never a queued request: io_uring runs shutdown on a worker that resolves the
        // descriptor late, after the close below may have handed the number to the next connection (item 1 of #10).
        SocketHelpers.ShutdownWrite(c.Fd);
        EnsureRecv(c);
    }

    public void CloseNow(LoopConnection c)
    {
        if (c.Closed)
        {
            return;
        }

        c.Closed = true;
        ReleaseIo(c);

        // A connection whose send the kernel still holds stays registered until that send completes.
        if (!c.SendInFlight)
        {
            Connections.Remove(c.Id);
        }

        c.CompleteInput(null);
        CloseDescriptor(c);
        c.Output.OnConnectionClosed();
        if (c.Protocol is { } protocol)
        {
            Server.Untrack(protocol);
        }
        else
        {
            Server.ReleaseConnection();
        }
    }

    /// <summary>A send completed: hands the result to the connection's output and forgets a closed connection once nothing is in flight.</summary>
    protected void OnSendCompleted(LoopConnection c, int result)
    {
        c.SendInFlight = false;
        c.OnSendCompleted(result);
        if (c.Closed && !c.SendInFlight)
        {
            Connections.Remove(c.Id);
        }
    }

    /// <summary>Loop thread, about once a second.</summary>
    protected virtual void OnSecond(long now)
    {
    }

    private void OnTick(long now)
    {
        OnSecond(now);
        List<LoopConnection>? expired = null;
        foreach (var c in Connections.Values)
        {
            if (c.Lingering && !c.Closed && now > c.LingerDeadline)
            {
                (expired ??= []).Add(c);
            }
        }

        if (expired is not null)
        {
            foreach (var c in expired)
            {
                CloseNow(c);
            }
        }
    }

    private void StopAcceptingOnLoop()
    {
        if (AcceptStopped)
        {
            return;
        }

        AcceptStopped = true;
        StopListeners();
        foreach (var l in Listeners)
        {
            l.Dispose();
        }
    }
}
