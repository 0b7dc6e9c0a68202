using System.Net.Sockets;
using System.Runtime.InteropServices;
using Hyperion.Internal.Transport.Loops;
using Hyperion.Native;

namespace Hyperion.Internal.Transport.IoUring;

/// <summary>
/// A transport loop on its own io_uring: multishot accept, multishot receive into a provided-buffer ring, sends
/// from the connections' output queues, and every SQE of an iteration submitted with one io_uring_enter.
/// </summary>
internal sealed unsafe class IoUringLoop : TransportLoop
{
    private const ulong KindAccept = 1;
    private const ulong KindRecv = 2;
    private const ulong KindSend = 3;
    private const ulong KindWake = 4;
    private const ulong KindTick = 5;
    private const ulong KindIgnore = 6;
    private const ulong KindFileWait = 7;
    private const ulong IdMask = (1UL << 56) - 1;
    private const ushort BufferGroup = 0;

    private static long s_noBufferEvents;

    private IoUringRing? _ring;
    private ProvidedBufferRing? _buffers;
    private ulong* _wakeBuffer;
    private KernelTimespec* _tick;

    // File bodies: io_uring has no sendfile op, so sendfile(2) runs on the loop thread on the non-blocking socket, and
    // a full socket buffer arms a POLLOUT poll (KindFileWait) instead of blocking. Measured against splice through a
    // pipe (two linked SQEs, run by io-wq workers; bench/RESULTS.md, "File bodies"): as fast or faster, with no pipe
    // descriptors per transfer and no SQE naming the file descriptor, so closing it never races the kernel. The cost:
    // a file not in the page cache is read from disk on the loop thread, as with nginx's sendfile without aio.
    private List<FileSend> _fileSends = [];
    private List<FileSend> _fileSending = [];
    private readonly Dictionary<ulong, FileSend> _fileWaits = [];

    public IoUringLoop(HyperionServer server, int index, Socket[] listeners, IReadOnlyList<ListenerSettings> listenerSettings, int bufferCount)
        : base(server, index, listeners, listenerSettings, "hyperion-uring")
    {
        BufferCount = bufferCount;
    }

    public int BufferCount { get; }

    /// <summary>How often a multishot receive ended because the provided-buffer ring ran dry (process-wide).</summary>
    public static long NoBufferEvents => Volatile.Read(ref s_noBufferEvents);

    public uint SetupFlags { get; private set; }

    public override string Detail => $"setup flags 0x{SetupFlags:x}";

    protected override void Setup()
    {
        _ring = IoUringRing.CreateBest(4096);
        _buffers = new ProvidedBufferRing(_ring, BufferGroup, (ushort)BufferCount, 4096);
        _wakeBuffer = (ulong*)NativeMemory.Alloc(8);
        _tick = (KernelTimespec*)NativeMemory.AllocZeroed((nuint)sizeof(KernelTimespec));
        _tick->Seconds = 1;
        ArmWake();
        ArmTick();
        for (int i = 0; i < Listeners.Length; i++)
        {
            ArmAccept(i);
        }

        _ring.SubmitAndWait(0);
        SetupFlags = _ring.SetupFlags;
    }

    /// <summary>The armed one-second timeout bounds the wait, so <paramref name="timeoutMs"/> needs no SQE of its own.</summary>
    protected override void WaitAndDispatch(bool block, int timeoutMs)
    {
        _buffers!.Publish();
        RunFileSends();
        _ring!.SubmitAndWait(block && _fileSends.Count == 0 ? 1u : 0u);
        while (_ring.TryGetCompletion(out var cqe))
        {
            Handle(cqe);
        }
    }

    protected override void Teardown()
    {
        if (_ring is not null)
        {
            try
            {
                _ring.SubmitAndWait(0);
            }
            catch (IoUringException)
            {
                // Disposing the ring below cancels whatever is left.
            }
        }

        // Every connection is closed by now: file sends still queued or waiting for room end as cancelled, which
        // closes their file descriptors (no SQE names them, so this cannot race the kernel).
        foreach (var send in _fileWaits.Values.Concat(_fileSends).ToArray())
        {
            OnSendCompleted(send.Connection, -Libc_ECANCELED);
        }

        _fileWaits.Clear();
        _fileSends.Clear();

        _buffers?.Dispose();
        _ring?.Dispose();

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
                if (Connections.TryGetValue(id, out var sender))
                {
                    OnSendCompleted(sender, cqe.Res);
                }

                break;
            case KindAccept:
                OnAccept((int)id, cqe);
                break;
            case KindWake:
                WakeConsumed();
                ArmWake();
                break;
            case KindTick:
                ArmTick();
                break;
            case KindFileWait:
                if (_fileWaits.Remove(id, out var waiting))
                {
                    // Writable, hung up or cancelled by a close: the next sendfile (or the closed check) says which.
                    _fileSends.Add(waiting);
                }

                break;
        }
    }

    private void OnAccept(int listener, in IoUringCqe cqe)
    {
        if (!cqe.HasMore && !AcceptStopped)
        {
            ArmAccept(listener);
        }

        if (cqe.Res >= 0)
        {
            OnAccepted(listener, cqe.Res);
        }

        // A negative result is ECANCELED at stop or EMFILE under fd pressure: the listener stays armed.
    }

    private void OnRecv(ulong id, in IoUringCqe cqe)
    {
        bool hasBuffer = cqe.HasBuffer;
        if (!Connections.TryGetValue(id, out var c))
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

        if (res == 0 || (res < 0 && res != -Libc_ENOBUFS && res != -Libc_ECANCELED))
        {
            if (!OnReceiveEnded(c, res))
            {
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
    private const int Libc_EINTR = 4;
    private const int Libc_EINVAL = 22;

    /// <summary>Stops a connection's multishot receive; the -ECANCELED completion clears RecvArmed.</summary>
    public override void CancelRecv(LoopConnection c)
    {
        if (c.RecvArmed)
        {
            SqePrep.CancelUserData(NextSqe(), (KindRecv << 56) | c.Id, KindIgnore << 56);
        }
    }

    public override void EnsureRecv(LoopConnection c)
    {
        if (!c.RecvArmed && c.WantsRecv)
        {
            var sqe = NextSqe();
            SqePrep.MultishotRecv(sqe, c.Fd, BufferGroup, (KindRecv << 56) | c.Id);
            c.RecvArmed = true;
        }
    }

    public override void SubmitSend(LoopConnection c, nint data, uint length)
    {
        var sqe = NextSqe();
        SqePrep.Send(sqe, c.Fd, (void*)data, length, (KindSend << 56) | c.Id);
        c.SendInFlight = true;
    }

    public override void SubmitSendMessage(LoopConnection c, nint message)
    {
        SqePrep.SendMsg(NextSqe(), c.Fd, (void*)message, (KindSend << 56) | c.Id);
        c.SendInFlight = true;
    }

    /// <summary>
    /// Closes through the ring, after the cancels <see cref="ReleaseIo"/> queued and any receive or send queued this
    /// iteration: SQEs are issued in order and each takes its file reference when issued, so the number is reused only
    /// after every request naming it holds the old socket. A close(2) here would free it while those SQEs still wait
    /// in the submission queue, and another loop's accept could take it in between (item 1 of #10).
    /// </summary>
    protected override void CloseDescriptor(LoopConnection c) => SqePrep.Close(NextSqe(), c.Fd, KindIgnore << 56);

    public override void SubmitSendFile(LoopConnection c, int fileFd, long offset, int length)
    {
        c.SendInFlight = true;
        _fileSends.Add(new FileSend(c, fileFd, offset, length));
    }

    /// <summary>One sendfile per queued file send; completions queue the next part for the next pass, so one fast reader cannot hold the loop.</summary>
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
                OnSendCompleted(c, -Libc_ECANCELED);
                continue;
            }

            if (!c.NonBlocking)
            {
                // io_uring's own socket ops ignore O_NONBLOCK (they poll); sendfile(2) needs it not to block the loop.
                c.NonBlocking = SocketHelpers.SetNonBlocking(c.Fd);
                if (!c.NonBlocking)
                {
                    OnSendCompleted(c, -Libc_EINVAL);
                    continue;
                }
            }

            // A partial sendfile most likely filled the socket buffer: poll first instead of a sendfile that would
            // return EAGAIN. Safe also when it was not full (a file that shrank): the poll completes at once then.
            int n = c.SendBufferFull ? SocketHelpers.WouldBlock : SocketHelpers.SendFile(c.Fd, send.FileFd, send.Offset, send.Length);
            c.SendBufferFull = n > 0 && n < send.Length;
            if (n == SocketHelpers.WouldBlock)
            {
                _fileWaits[c.Id] = send;
                SqePrep.PollWritable(NextSqe(), c.Fd, (KindFileWait << 56) | c.Id);

                // Submitted at once: an SQE naming the socket must reach the kernel before anything can close it.
                _ring!.SubmitAndWait(0);
                continue;
            }

            if (n == -Libc_EINTR)
            {
                _fileSends.Add(send);
                continue;
            }

            OnSendCompleted(c, n);
        }

        _fileSending.Clear();
    }

    /// <summary>
    /// Cancels by user_data (cancel-by-fd would need the fd to stay open); the fd is closed right after. The kernel
    /// keeps the socket alive until the cancelled requests drop their references, and a stale completion names the
    /// connection id, never the fd number, so fd reuse is harmless.
    /// </summary>
    protected override void ReleaseIo(LoopConnection c)
    {
        if (c.RecvArmed)
        {
            SqePrep.CancelUserData(NextSqe(), (KindRecv << 56) | c.Id, KindIgnore << 56);
        }

        if (c.SendInFlight)
        {
            SqePrep.CancelUserData(NextSqe(), (KindSend << 56) | c.Id, KindIgnore << 56);
        }

        if (_fileWaits.ContainsKey(c.Id))
        {
            SqePrep.CancelUserData(NextSqe(), (KindFileWait << 56) | c.Id, KindIgnore << 56);
        }
    }

    protected override void StopListeners()
    {
        for (int i = 0; i < Listeners.Length; i++)
        {
            SqePrep.CancelUserData(NextSqe(), (KindAccept << 56) | (uint)i, KindIgnore << 56);
        }

        _ring!.SubmitAndWait(0);
    }

    private void ArmAccept(int listener)
    {
        SqePrep.MultishotAccept(NextSqe(), (int)Listeners[listener].Handle, (KindAccept << 56) | (uint)listener);
    }

    private void ArmWake() => SqePrep.Read(NextSqe(), EventFd, _wakeBuffer, 8, KindWake << 56);

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

    /// <summary>A file send waiting for its turn or for room in the socket buffer.</summary>
    private readonly record struct FileSend(LoopConnection Connection, int FileFd, long Offset, int Length);
}
