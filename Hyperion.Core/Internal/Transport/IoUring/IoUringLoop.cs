using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Hyperion.Internal.Http1;
using Hyperion.Internal.Tls;
using Hyperion.Native;

namespace Hyperion.Internal.Transport.IoUring;

/// <summary>
/// One loop thread with its own ring and its own SO_REUSEPORT listeners: multishot accept, multishot
/// receive into a provided-buffer ring, sends from the connections' output queues, and every SQE of an
/// iteration submitted with one io_uring_enter. Synchronous routes are answered inline on this thread;
/// work that goes async leaves it and hands its output back through <see cref="Post"/>.
/// </summary>
internal sealed unsafe class IoUringLoop
{
    private const ulong KindAccept = 1;
    private const ulong KindRecv = 2;
    private const ulong KindSend = 3;
    private const ulong KindWake = 4;
    private const ulong KindTick = 5;
    private const ulong KindIgnore = 6;
    private const ulong IdMask = (1UL << 56) - 1;
    private const ushort BufferGroup = 0;

    [ThreadStatic]
    private static IoUringLoop? t_current;

    private static long s_noBufferEvents;

    private readonly HyperionServer _server;
    private readonly Socket[] _listeners;
    private readonly int[] _listenerPorts;
    private readonly IReadOnlyList<TlsListener?> _listenerTls;
    private readonly Dictionary<ulong, LoopConnection> _connections = [];
    private readonly ConcurrentQueue<(Action<object?> Action, object? State)> _remote = new();
    private readonly Queue<(Action<object?> Action, object? State)> _local = new();
    private readonly Thread _thread;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PipeOptions _inputOptions;
    private IoUringRing? _ring;
    private ProvidedBufferRing? _buffers;
    private int _eventFd = -1;
    private ulong* _wakeBuffer;
    private KernelTimespec* _tick;
    private int _wakeRequested;
    private ulong _nextId = 1;
    private bool _acceptStopped;
    private volatile bool _exit;

    public IoUringLoop(HyperionServer server, int index, Socket[] listeners, IReadOnlyList<TlsListener?> listenerTls, int bufferCount)
    {
        _server = server;
        Index = index;
        _listeners = listeners;
        _listenerPorts = listeners.Select(l => ((IPEndPoint)l.LocalEndPoint!).Port).ToArray();
        _listenerTls = listenerTls;
        BufferCount = bufferCount;
        Scheduler = new LoopScheduler(this);
        var pool = server.MemoryPool;
        _inputOptions = new PipeOptions(pool, readerScheduler: PipeScheduler.Inline, writerScheduler: Scheduler,
            pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, minimumSegmentSize: 4096, useSynchronizationContext: false);
        _thread = new Thread(Run) { IsBackground = true, Name = $"hyperion-uring-{index}" };
    }

    public int Index { get; }

    public int BufferCount { get; }

    public LoopScheduler Scheduler { get; }

    /// <summary>True on a loop thread, where blocking would stall every connection of the loop.</summary>
    public static bool IsLoopThread => t_current is not null;

    /// <summary>True on this loop's own thread.</summary>
    public bool IsCurrentThread => t_current == this;

    /// <summary>How often a multishot receive ended because the provided-buffer ring ran dry (process-wide).</summary>
    public static long NoBufferEvents => Volatile.Read(ref s_noBufferEvents);

    public Task StartAsync()
    {
        _thread.Start();
        return _started.Task;
    }

    public Task Exited => _exited.Task;

    /// <summary>Queues work for the loop thread; from another thread, wakes the ring if it sleeps.</summary>
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
            SocketHelpers.Signal(_eventFd);
        }
    }

    public void StopAccepting() => Post(static s => ((IoUringLoop)s!).StopAcceptingOnLoop(), this);

    public void Exit() => Post(static s => ((IoUringLoop)s!)._exit = true, this);

    private void Run()
    {
        t_current = this;
        try
        {
            _ring = IoUringRing.CreateBest(4096);
            _buffers = new ProvidedBufferRing(_ring, BufferGroup, (ushort)BufferCount, 4096);
            _eventFd = SocketHelpers.CreateEventFd();
            _wakeBuffer = (ulong*)NativeMemory.Alloc(8);
            _tick = (KernelTimespec*)NativeMemory.AllocZeroed((nuint)sizeof(KernelTimespec));
            _tick->Seconds = 1;
            ArmWake();
            ArmTick();
            for (int i = 0; i < _listeners.Length; i++)
            {
                ArmAccept(i);
            }

            _ring.SubmitAndWait(0);
            SetupFlags = _ring.SetupFlags;
        }
        catch (Exception ex)
        {
            Cleanup();
            _started.TrySetException(ex);
            _exited.TrySetResult();
            return;
        }

        _started.TrySetResult();
        try
        {
            while (!_exit)
            {
                RunWork();
                if (_exit)
                {
                    break;
                }

                _buffers.Publish();
                bool more = _local.Count > 0 || !_remote.IsEmpty;
                _ring.SubmitAndWait(more ? 0u : 1u);
                while (_ring.TryGetCompletion(out var cqe))
                {
                    Handle(cqe);
                }
            }
        }
        catch (Exception ex)
        {
            _server.Log.LoopFailed(Index, ex);
        }
        finally
        {
            foreach (var c in _connections.Values.ToArray())
            {
                CloseNow(c);
            }

            try
            {
                _ring.SubmitAndWait(0);
            }
            catch (IoUringException)
            {
                // Disposing the ring below cancels whatever is left.
            }

            Cleanup();
            t_current = null;
            _exited.TrySetResult();
        }
    }

    public uint SetupFlags { get; private set; }

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

    private void Handle(in IoUringCqe cqe)
    {
        ulong kind = cqe.UserData >> 56;
        ulong id = cqe.UserData & IdMask;
        switch (kind)
        {
            case KindRecv:
                OnRecv(id, cqe);
                break;
            case KindSend:
                if (_connections.TryGetValue(id, out var sender))
                {
                    sender.SendInFlight = false;
                    sender.OnSendCompleted(cqe.Res);

                    // A closed connection stays registered until the kernel is done with its send buffer.
                    if (sender.Closed && !sender.SendInFlight)
                    {
                        _connections.Remove(id);
                    }
                }

                break;
            case KindAccept:
                OnAccept((int)id, cqe);
                break;
            case KindWake:
                Volatile.Write(ref _wakeRequested, 0);
                ArmWake();
                break;
            case KindTick:
                OnTick();
                ArmTick();
                break;
        }
    }

    private void OnAccept(int listener, in IoUringCqe cqe)
    {
        if (!cqe.HasMore && !_acceptStopped)
        {
            ArmAccept(listener);
        }

        if (cqe.Res < 0)
        {
            return; // ECANCELED at stop, EMFILE under fd pressure: the listener stays armed.
        }

        int fd = cqe.Res;
        if (_acceptStopped || _exit)
        {
            SocketHelpers.Close(fd);
            return;
        }

        var remote = SocketHelpers.GetPeer(fd);
        if (!_server.TryReserveConnection())
        {
            _server.Log.ConnectionLimit(remote?.ToString() ?? "?");
            if (_listenerTls[listener] is null)
            {
                // A TLS client only gets the close: plain bytes would be a bogus TLS record.
                SocketHelpers.WriteAll(fd, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8);
            }

            SocketHelpers.Close(fd);
            return;
        }

        SocketHelpers.SetNoDelay(fd);
        var connection = new LoopConnection(this, fd, _nextId++, remote, _listenerPorts[listener], _listenerTls[listener], _inputOptions);
        _connections[connection.Id] = connection;
        EnsureRecv(connection);
        var protocol = _server.CreateConnection(connection.Input.Reader, connection.Output, connection.Context);
        connection.Protocol = protocol;
        _server.Track(protocol);
        _ = protocol.RunAsync();
    }

    private void OnRecv(ulong id, in IoUringCqe cqe)
    {
        bool hasBuffer = cqe.HasBuffer;
        if (!_connections.TryGetValue(id, out var c))
        {
            if (hasBuffer)
            {
                _buffers!.Recycle(cqe.BufferId);
            }

            return;
        }

        int res = cqe.Res;
        if (res > 0 && hasBuffer)
        {
            c.OnData(_buffers!.GetBuffer(cqe.BufferId, res));
            _buffers.Recycle(cqe.BufferId);
        }
        else if (hasBuffer)
        {
            _buffers!.Recycle(cqe.BufferId);
        }

        if (res == -Libc_ENOBUFS)
        {
            Interlocked.Increment(ref s_noBufferEvents);
        }

        if (res == 0)
        {
            // EOF: the client closed its side.
            c.CompleteInput(null);
            if (c.Lingering)
            {
                CloseNow(c);
                return;
            }
        }
        else if (res < 0 && res != -Libc_ENOBUFS && res != -Libc_ECANCELED)
        {
            c.CompleteInput(new IOException($"recv failed: errno {-res}"));
            if (c.Lingering)
            {
                CloseNow(c);
                return;
            }
        }

        if (!cqe.HasMore)
        {
            // Multishot ends on EOF, errors, and -ENOBUFS when the buffer ring ran dry: re-arm if still wanted.
            c.RecvArmed = false;
            EnsureRecv(c);
        }
    }

    private const int Libc_ENOBUFS = 105;
    private const int Libc_ECANCELED = 125;

    /// <summary>Stops a connection's multishot receive (back-pressure); the -ECANCELED completion clears RecvArmed.</summary>
    public void CancelRecv(LoopConnection c)
    {
        if (c.RecvArmed)
        {
            SqePrep.CancelUserData(NextSqe(), (KindRecv << 56) | c.Id, KindIgnore << 56);
        }
    }

    public void EnsureRecv(LoopConnection c)
    {
        if (!c.RecvArmed && c.WantsRecv)
        {
            var sqe = NextSqe();
            SqePrep.MultishotRecv(sqe, c.Fd, BufferGroup, (KindRecv << 56) | c.Id);
            c.RecvArmed = true;
        }
    }

    public void SubmitSend(LoopConnection c, nint data, uint length)
    {
        var sqe = NextSqe();
        SqePrep.Send(sqe, c.Fd, (void*)data, length, (KindSend << 56) | c.Id);
        c.SendInFlight = true;
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
        c.LingerDeadline = Environment.TickCount64 + 2000;
        SqePrep.ShutdownWrite(NextSqe(), c.Fd, KindIgnore << 56);
        EnsureRecv(c);
    }

    public void CloseNow(LoopConnection c)
    {
        if (c.Closed)
        {
            return;
        }

        c.Closed = true;
        if (!c.SendInFlight)
        {
            _connections.Remove(c.Id);
        }

        c.CompleteInput(null);

        // Cancel what is in flight by user_data (cancel-by-fd would need the fd to stay open), then close the
        // fd at once. The kernel keeps the socket alive until the cancelled requests drop their references,
        // and a stale completion names the connection id, never the fd number, so fd reuse is harmless.
        if (c.RecvArmed)
        {
            SqePrep.CancelUserData(NextSqe(), (KindRecv << 56) | c.Id, KindIgnore << 56);
        }

        if (c.SendInFlight)
        {
            SqePrep.CancelUserData(NextSqe(), (KindSend << 56) | c.Id, KindIgnore << 56);
        }

        SocketHelpers.Close(c.Fd);
        c.Output.OnConnectionClosed();
        if (c.Protocol is { } protocol)
        {
            _server.Untrack(protocol);
        }
        else
        {
            _server.ReleaseConnection();
        }
    }

    private void OnTick()
    {
        long now = Environment.TickCount64;
        List<LoopConnection>? expired = null;
        foreach (var c in _connections.Values)
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
        if (_acceptStopped)
        {
            return;
        }

        _acceptStopped = true;
        for (int i = 0; i < _listeners.Length; i++)
        {
            SqePrep.CancelUserData(NextSqe(), (KindAccept << 56) | (uint)i, KindIgnore << 56);
        }

        _ring!.SubmitAndWait(0);
        foreach (var l in _listeners)
        {
            l.Dispose();
        }
    }

    private void ArmAccept(int listener)
    {
        SqePrep.MultishotAccept(NextSqe(), (int)_listeners[listener].Handle, (KindAccept << 56) | (uint)listener);
    }

    private void ArmWake() => SqePrep.Read(NextSqe(), _eventFd, _wakeBuffer, 8, KindWake << 56);

    private void ArmTick() => SqePrep.Timeout(NextSqe(), _tick, KindTick << 56);

    private IoUringSqe* NextSqe()
    {
        var sqe = _ring!.GetSqe();
        while (sqe == null)
        {
            // Submission queue full: hand what we have to the kernel and take a fresh slot.
            _ring.SubmitAndWait(0);
            sqe = _ring.GetSqe();
        }

        return sqe;
    }

    private void Cleanup()
    {
        if (!_acceptStopped)
        {
            foreach (var l in _listeners)
            {
                l.Dispose();
            }
        }

        _buffers?.Dispose();
        _ring?.Dispose();
        if (_eventFd >= 0)
        {
            SocketHelpers.Close(_eventFd);
        }

        if (_wakeBuffer != null)
        {
            NativeMemory.Free(_wakeBuffer);
            _wakeBuffer = null;
        }

        if (_tick != null)
        {
            NativeMemory.Free(_tick);
            _tick = null;
        }
    }
}
