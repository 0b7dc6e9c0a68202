using System.Diagnostics.CodeAnalysis;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Hyperion.Internal.Transport.Loops;
using Hyperion.Native;

namespace Hyperion.Internal.Transport.Epoll;

/// <summary>
/// A transport loop on epoll, for Linux where io_uring is unavailable (seccomp profiles, old kernels, memlock
/// limits). Connections are watched edge-triggered and read into one loop-wide buffer until a short read, so an
/// idle connection holds no buffer and a request costs one recv and one send; the sends an iteration produced are
/// made just before the next wait. Replaces System.Net.Sockets as the Linux fallback because its completions hop
/// from the epoll thread to the thread pool, which on one core cost half the throughput (issue #3).
/// </summary>
internal sealed unsafe class EpollLoop : TransportLoop
{
    private const ulong KindListener = 1;
    private const ulong KindWake = 2;
    private const ulong KindConnection = 3;
    private const ulong IdMask = (1UL << 56) - 1;
    private const int ReceiveBufferSize = 64 * 1024;
    private const int AcceptsPerEvent = 64;
    private const int FullReadsPerPass = 4;
    private const int ECANCELED = 125;
    private const int ECONNABORTED = 103;
    private const int EINTR = 4;

    private const uint ConnectionEvents = EpollSet.In | EpollSet.Out | EpollSet.PeerHangUp | EpollSet.EdgeTriggered;

    private readonly List<PendingSend> _sends = [];
    private readonly List<PendingSend> _sending = [];
    private List<PendingSend> _fileSends = [];
    private List<PendingSend> _fileSending = [];
    private readonly Dictionary<ulong, PendingSend> _blocked = [];
    private List<LoopConnection> _reads = [];
    private List<LoopConnection> _reading = [];
    private readonly bool[] _listenerPaused;
    private EpollSet? _epoll;
    private byte* _buffer;

    public EpollLoop(HyperionServer server, int index, Socket[] listeners, IReadOnlyList<ListenerSettings> listenerSettings)
        : base(server, index, listeners, listenerSettings, "hyperion-epoll")
    {
        _listenerPaused = new bool[listeners.Length];
    }

    protected override void Setup()
    {
        _epoll = new EpollSet(256);
        _buffer = (byte*)NativeMemory.Alloc(ReceiveBufferSize);
        _epoll.Add(EventFd, EpollSet.In, KindWake << 56);
        for (int i = 0; i < Listeners.Length; i++)
        {
            Listeners[i].Blocking = false;
            _epoll.Add((int)Listeners[i].Handle, EpollSet.In, (KindListener << 56) | (uint)i);
        }
    }

    protected override void WaitAndDispatch(bool block, int timeoutMs)
    {
        RunPendingIo();
        var epoll = _epoll!;
        int n = epoll.Wait(block && _sends.Count == 0 && _reads.Count == 0 && _fileSends.Count == 0 ? timeoutMs : 0);
        for (int i = 0; i < n; i++)
        {
            ulong token = epoll.TokenAt(i);
            uint events = epoll.EventsAt(i);
            ulong id = token & IdMask;
            switch (token >> 56)
            {
                case KindConnection:
                    if (Connections.TryGetValue(id, out var c) && !c.Closed)
                    {
                        OnConnectionEvents(c, events);
                    }

                    break;
                case KindListener:
                    AcceptAll((int)id);
                    break;
                case KindWake:
                    // Drain before clearing the flag: a Post between the two would otherwise signal an eventfd that
                    // the drain then empties, leaving the flag set with no wake-up to clear it, so every later Post
                    // from another thread skipped its signal and waited for the loop's 1 s tick.
                    SocketHelpers.DrainEventFd(EventFd);
                    WakeConsumed();
                    break;
            }
        }
    }

    protected override void Teardown()
    {
        // Connections closed as the loop ended may still have a send queued: complete it as cancelled, so a writer
        // waiting on back-pressure is released instead of waiting forever.
        if (_epoll is not null)
        {
            RunPendingIo();
        }

        _epoll?.Dispose();
        if (_buffer != null)
        {
            NativeMemory.Free(_buffer);
            _buffer = null;
        }
    }

    /// <summary>Watched edge-triggered from the start; the registration reports input that arrived before it.</summary>
    protected override bool TryRegister(LoopConnection c, [NotNullWhen(false)] out Exception? error)
    {
        try
        {
            _epoll!.Add(c.Fd, ConnectionEvents, (KindConnection << 56) | c.Id);
        }
        catch (IOException ex)
        {
            error = ex;
            return false;
        }

        error = null;
        c.RecvArmed = c.WantsRecv;
        return true;
    }

    /// <summary>Edge-triggered: a paused connection's bytes wait in the kernel, and <see cref="EnsureRecv"/> reads them on resume.</summary>
    public override void CancelRecv(LoopConnection c) => c.RecvArmed = false;

    /// <summary>No new edge comes for bytes that arrived while paused, so a resumed connection is read once without one.</summary>
    public override void EnsureRecv(LoopConnection c)
    {
        if (!c.RecvArmed && c.WantsRecv)
        {
            c.RecvArmed = true;
            _reads.Add(c);
        }
    }

    public override void SubmitSend(LoopConnection c, nint data, uint length)
    {
        c.SendInFlight = true;
        _sends.Add(new PendingSend(c, data, (int)length, IsMessage: false));
    }

    public override void SubmitSendMessage(LoopConnection c, nint message)
    {
        c.SendInFlight = true;
        _sends.Add(new PendingSend(c, message, Length: 0, IsMessage: true));
    }

    /// <summary>Made on the next pass (see <see cref="RunFileSends"/>); the accepted socket is already non-blocking.</summary>
    public override void SubmitSendFile(LoopConnection c, int fileFd, long offset, int length)
    {
        c.SendInFlight = true;
        _fileSends.Add(new PendingSend(c, fileFd, length, IsMessage: false, IsFile: true, FileOffset: offset));
    }

    /// <summary>A send waiting for room completes as cancelled on the next pass; closing the fd removes it from the epoll set.</summary>
    protected override void ReleaseIo(LoopConnection c)
    {
        if (_blocked.Remove(c.Id, out var send))
        {
            (send.IsFile ? _fileSends : _sends).Add(send);
        }
    }

    protected override void StopListeners()
    {
        foreach (var l in Listeners)
        {
            _epoll!.Remove((int)l.Handle);
        }
    }

    /// <summary>Once a second: listeners paused by descriptor exhaustion try again.</summary>
    protected override void OnSecond(long now)
    {
        for (int i = 0; i < _listenerPaused.Length; i++)
        {
            if (_listenerPaused[i] && !AcceptStopped)
            {
                _listenerPaused[i] = false;
                _epoll!.Modify((int)Listeners[i].Handle, EpollSet.In, (KindListener << 56) | (uint)i);
            }
        }
    }

    private void OnConnectionEvents(LoopConnection c, uint events)
    {
        if ((events & EpollSet.Out) != 0 && _blocked.Remove(c.Id, out var send))
        {
            (send.IsFile ? _fileSends : _sends).Add(send);
        }

        if ((events & (EpollSet.In | EpollSet.PeerHangUp | EpollSet.HangUp | EpollSet.Error)) != 0 && c.RecvArmed)
        {
            // With a hang-up or error flagged, read to the end: a short read no longer proves there is no more.
            Receive(c, drain: (events & (EpollSet.PeerHangUp | EpollSet.HangUp | EpollSet.Error)) != 0);
        }
    }

    /// <summary>
    /// Reads until a short read (edge-triggered: the socket is then empty, and new bytes raise a new edge). A sender
    /// that keeps the buffer full is read again on the next pass instead, so it cannot starve the loop's other connections.
    /// </summary>
    private void Receive(LoopConnection c, bool drain)
    {
        for (int reads = 0; c.RecvArmed && !c.Closed; reads++)
        {
            if (reads == FullReadsPerPass)
            {
                _reads.Add(c);
                return;
            }

            int n = SocketHelpers.Receive(c.Fd, _buffer, ReceiveBufferSize);
            if (n > 0)
            {
                c.OnData(new ReadOnlySpan<byte>(_buffer, n));
                if (n < ReceiveBufferSize && !drain)
                {
                    return;
                }

                continue;
            }

            if (n == -EINTR)
            {
                continue;
            }

            if (n == SocketHelpers.WouldBlock)
            {
                return;
            }

            // EOF (0) or an error such as ECONNRESET.
            c.RecvArmed = false;
            OnReceiveEnded(c, n);
            return;
        }
    }

    /// <summary>Reads the connections resumed since the last pass, then makes every queued send; completions may queue more.</summary>
    private void RunPendingIo()
    {
        if (_reads.Count > 0)
        {
            (_reads, _reading) = (_reading, _reads);
            foreach (var c in _reading)
            {
                if (!c.Closed)
                {
                    Receive(c, drain: true);
                }
            }

            _reading.Clear();
        }

        RunFileSends();
        while (_sends.Count > 0)
        {
            _sending.AddRange(_sends);
            _sends.Clear();
            foreach (var send in _sending)
            {
                var c = send.Connection;
                if (c.Closed)
                {
                    OnSendCompleted(c, -ECANCELED);
                    continue;
                }

                int n = send.IsMessage
                    ? SocketHelpers.SendMessage(c.Fd, (void*)send.Data)
                    : SocketHelpers.Send(c.Fd, (byte*)send.Data, send.Length);
                if (n == SocketHelpers.WouldBlock)
                {
                    // The socket buffer is full: the edge-triggered EPOLLOUT says when there is room.
                    _blocked[c.Id] = send;
                    continue;
                }

                if (n == -EINTR)
                {
                    _sends.Add(send);
                    continue;
                }

                OnSendCompleted(c, n);
            }

            _sending.Clear();
        }
    }

    /// <summary>
    /// One sendfile per connection with a file body queued before this pass; what their completions queue waits for the
    /// next pass, so a fast reader of a large file cannot keep the loop from its other connections.
    /// </summary>
    private void RunFileSends()
    {
        if (_fileSends.Count == 0)
        {
            return;
        }

        (_fileSends, _fileSending) = (_fileSending, _fileSends);
        foreach (var send in _fileSending)
        {
            var c = send.Connection;
            if (c.Closed)
            {
                OnSendCompleted(c, -ECANCELED);
                continue;
            }

            // Always tried, even after a partial send: a partial one that ended at end of file (a file that shrank)
            // leaves the buffer with room, and no EPOLLOUT edge would ever come for it.
            int n = SocketHelpers.SendFile(c.Fd, (int)send.Data, send.FileOffset, send.Length);
            if (n == SocketHelpers.WouldBlock)
            {
                _blocked[c.Id] = send;
                continue;
            }

            if (n == -EINTR)
            {
                _fileSends.Add(send);
                continue;
            }

            OnSendCompleted(c, n);
        }

        _fileSending.Clear();
    }

    private void AcceptAll(int listener)
    {
        if (AcceptStopped)
        {
            return;
        }

        int fd = (int)Listeners[listener].Handle;
        for (int i = 0; i < AcceptsPerEvent; i++)
        {
            int client = SocketHelpers.Accept(fd);
            if (client >= 0)
            {
                OnAccepted(listener, client);
                continue;
            }

            if (client == -ECONNABORTED || client == -EINTR)
            {
                continue;
            }

            if (client != SocketHelpers.WouldBlock)
            {
                // EMFILE/ENFILE/ENOBUFS: the listener stays readable, so watching it would spin; look again in a second.
                _listenerPaused[listener] = true;
                _epoll!.Modify(fd, 0, (KindListener << 56) | (uint)listener);
            }

            return;
        }
    }

    /// <summary>
    /// A send waiting for its turn: <see cref="Data"/> is <see cref="Length"/> bytes, a struct msghdr when <see cref="IsMessage"/>,
    /// or a file descriptor to send <see cref="Length"/> bytes of from <see cref="FileOffset"/> when <see cref="IsFile"/>.
    /// </summary>
    private readonly record struct PendingSend(LoopConnection Connection, nint Data, int Length, bool IsMessage, bool IsFile = false, long FileOffset = 0);
}
