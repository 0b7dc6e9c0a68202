namespace Hyperion.Native;

/// <summary>Fills SQEs for the operations the HTTP loop uses (the same fields liburing's prep helpers set).</summary>
public static unsafe class SqePrep
{
    /// <summary>No operation; completes at once with res 0.</summary>
    public static void Nop(IoUringSqe* sqe, ulong userData)
    {
        sqe->Opcode = (byte)IoUringOp.Nop;
        sqe->Fd = -1;
        sqe->UserData = userData;
    }

    /// <summary>Multishot accept (5.19): one CQE per accepted connection, res = the new fd, until cancelled.</summary>
    public static void MultishotAccept(IoUringSqe* sqe, int listenFd, ulong userData)
    {
        sqe->Opcode = (byte)IoUringOp.Accept;
        sqe->Fd = listenFd;
        sqe->IoPrio = OpFlags.AcceptMultishot;
        sqe->OpFlags = 0x80000; // SOCK_CLOEXEC for accepted fds
        sqe->UserData = userData;
    }

    /// <summary>Multishot receive (6.0) into buffers picked from provided-buffer group <paramref name="group"/>.</summary>
    public static void MultishotRecv(IoUringSqe* sqe, int fd, ushort group, ulong userData)
    {
        sqe->Opcode = (byte)IoUringOp.Recv;
        sqe->Fd = fd;
        sqe->IoPrio = OpFlags.RecvMultishot;
        sqe->Flags = SqeFlags.BufferSelect;
        sqe->BufGroup = group;
        sqe->UserData = userData;
    }

    /// <summary>send(2) of <paramref name="length"/> bytes at <paramref name="buffer"/> (MSG_NOSIGNAL: a dead peer is an error, not a signal).</summary>
    public static void Send(IoUringSqe* sqe, int fd, void* buffer, uint length, ulong userData)
    {
        sqe->Opcode = (byte)IoUringOp.Send;
        sqe->Fd = fd;
        sqe->Addr = (ulong)buffer;
        sqe->Len = length;
        sqe->OpFlags = 0x4000; // MSG_NOSIGNAL
        sqe->UserData = userData;
    }

    /// <summary>sendmsg(2) of the iovecs in <paramref name="message"/> (a struct msghdr that must stay valid until completion), MSG_NOSIGNAL.</summary>
    public static void SendMsg(IoUringSqe* sqe, int fd, void* message, ulong userData)
    {
        sqe->Opcode = (byte)IoUringOp.SendMsg;
        sqe->Fd = fd;
        sqe->Addr = (ulong)message;
        sqe->Len = 1;
        sqe->OpFlags = 0x4000; // MSG_NOSIGNAL
        sqe->UserData = userData;
    }

    /// <summary>One-shot poll until <paramref name="fd"/> is writable (POLLOUT; errors and hang-ups also end it); res is the ready mask or -errno.</summary>
    public static void PollWritable(IoUringSqe* sqe, int fd, ulong userData)
    {
        sqe->Opcode = (byte)IoUringOp.PollAdd;
        sqe->Fd = fd;
        sqe->OpFlags = 0x4; // poll32_events = POLLOUT
        sqe->UserData = userData;
    }

    /// <summary>read(2) of <paramref name="length"/> bytes (used on an eventfd to wake the loop).</summary>
    public static void Read(IoUringSqe* sqe, int fd, void* buffer, uint length, ulong userData)
    {
        sqe->Opcode = (byte)IoUringOp.Read;
        sqe->Fd = fd;
        sqe->Addr = (ulong)buffer;
        sqe->Len = length;
        sqe->Off = ulong.MaxValue; // -1: current position (eventfds have none)
        sqe->UserData = userData;
    }

    /// <summary>close(2) through the ring.</summary>
    public static void Close(IoUringSqe* sqe, int fd, ulong userData)
    {
        sqe->Opcode = (byte)IoUringOp.Close;
        sqe->Fd = fd;
        sqe->UserData = userData;
    }

    /// <summary>Cancels the in-flight request whose user_data is <paramref name="target"/>.</summary>
    public static void CancelUserData(IoUringSqe* sqe, ulong target, ulong userData)
    {
        sqe->Opcode = (byte)IoUringOp.AsyncCancel;
        sqe->Fd = -1;
        sqe->Addr = target;
        sqe->UserData = userData;
    }

    /// <summary>Cancels every in-flight request on <paramref name="fd"/>.</summary>
    public static void CancelFd(IoUringSqe* sqe, int fd, ulong userData)
    {
        sqe->Opcode = (byte)IoUringOp.AsyncCancel;
        sqe->Fd = fd;
        sqe->OpFlags = OpFlags.AsyncCancelFd | OpFlags.AsyncCancelAll;
        sqe->UserData = userData;
    }

    /// <summary>A relative timeout that completes with -ETIME after <paramref name="ts"/> (which must stay valid until completion).</summary>
    public static void Timeout(IoUringSqe* sqe, KernelTimespec* ts, ulong userData)
    {
        sqe->Opcode = (byte)IoUringOp.Timeout;
        sqe->Fd = -1;
        sqe->Addr = (ulong)ts;
        sqe->Len = 1;
        sqe->UserData = userData;
    }
}

/// <summary>struct __kernel_timespec.</summary>
public struct KernelTimespec
{
    /// <summary>Seconds.</summary>
    public long Seconds;

    /// <summary>Nanoseconds.</summary>
    public long Nanoseconds;
}
