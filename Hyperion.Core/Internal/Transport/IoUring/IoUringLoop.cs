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
    private const ulong IdMask = (1UL << 56) - 1;
    private const ushort BufferGroup = 0;

    private static long s_noBufferEvents;

    private IoUringRing? _ring;
    private ProvidedBufferRing? _buffers;
    private ulong* _wakeBuffer;
    private KernelTimespec* _tick;

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
        _ring!.SubmitAndWait(block ? 1u : 0u);
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
}
