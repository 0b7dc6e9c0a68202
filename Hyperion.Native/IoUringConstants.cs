namespace Hyperion.Native;

/// <summary>enum io_uring_op, in kernel order (values are the positions).</summary>
public enum IoUringOp : byte
{
#pragma warning disable CS1591 // names are the kernel's
    Nop = 0, Readv = 1, Writev = 2, Fsync = 3, ReadFixed = 4, WriteFixed = 5, PollAdd = 6, PollRemove = 7,
    SyncFileRange = 8, SendMsg = 9, RecvMsg = 10, Timeout = 11, TimeoutRemove = 12, Accept = 13, AsyncCancel = 14,
    LinkTimeout = 15, Connect = 16, Fallocate = 17, OpenAt = 18, Close = 19, FilesUpdate = 20, Statx = 21, Read = 22,
    Write = 23, Fadvise = 24, Madvise = 25, Send = 26, Recv = 27, OpenAt2 = 28, EpollCtl = 29, Splice = 30,
    ProvideBuffers = 31, RemoveBuffers = 32, Tee = 33, Shutdown = 34, RenameAt = 35, UnlinkAt = 36, MkdirAt = 37,
    SymlinkAt = 38, LinkAt = 39, MsgRing = 40, FSetXattr = 41, SetXattr = 42, FGetXattr = 43, GetXattr = 44,
    Socket = 45, UringCmd = 46, SendZc = 47, SendMsgZc = 48,
#pragma warning restore CS1591
}

/// <summary>IORING_SETUP_* values (bit values, not bit positions).</summary>
public static class SetupFlags
{
#pragma warning disable CS1591
    public const uint IoPoll = 1u << 0;
    public const uint SqPoll = 1u << 1;
    public const uint SqAff = 1u << 2;
    public const uint CqSize = 1u << 3;
    public const uint Clamp = 1u << 4;
    public const uint AttachWq = 1u << 5;
    public const uint RDisabled = 1u << 6;
    public const uint SubmitAll = 1u << 7;
    public const uint CoopTaskrun = 1u << 8;
    public const uint TaskrunFlag = 1u << 9;
    public const uint Sqe128 = 1u << 10;
    public const uint Cqe32 = 1u << 11;
    public const uint SingleIssuer = 1u << 12;
    public const uint DeferTaskrun = 1u << 13;
#pragma warning restore CS1591
}

/// <summary>IORING_ENTER_* values.</summary>
public static class EnterFlags
{
#pragma warning disable CS1591
    public const uint GetEvents = 1u << 0;
    public const uint SqWakeup = 1u << 1;
    public const uint SqWait = 1u << 2;
    public const uint ExtArg = 1u << 3;
    public const uint RegisteredRing = 1u << 4;
#pragma warning restore CS1591
}

/// <summary>IORING_FEAT_* values.</summary>
public static class Features
{
#pragma warning disable CS1591
    public const uint SingleMmap = 1u << 0;
    public const uint NoDrop = 1u << 1;
    public const uint SubmitStable = 1u << 2;
    public const uint RwCurPos = 1u << 3;
    public const uint CurPersonality = 1u << 4;
    public const uint FastPoll = 1u << 5;
    public const uint Poll32Bits = 1u << 6;
    public const uint SqPollNonFixed = 1u << 7;
    public const uint ExtArg = 1u << 8;
    public const uint NativeWorkers = 1u << 9;
    public const uint RsrcTags = 1u << 10;
    public const uint CqeSkip = 1u << 11;
    public const uint LinkedFile = 1u << 12;
#pragma warning restore CS1591
}

/// <summary>IOSQE_* values: 1 shifted by the IOSQE_*_BIT enum positions (the classic trap is writing the position).</summary>
public static class SqeFlags
{
#pragma warning disable CS1591
    public const byte FixedFile = 1 << 0;
    public const byte IoDrain = 1 << 1;
    public const byte IoLink = 1 << 2;
    public const byte IoHardlink = 1 << 3;
    public const byte Async = 1 << 4;
    public const byte BufferSelect = 1 << 5;
    public const byte CqeSkipSuccess = 1 << 6;
#pragma warning restore CS1591
}

/// <summary>IORING_CQE_F_* values and the buffer-id shift.</summary>
public static class CqeFlags
{
#pragma warning disable CS1591
    public const uint Buffer = 1u << 0;
    public const uint More = 1u << 1;
    public const uint SockNonEmpty = 1u << 2;
    public const uint Notif = 1u << 3;
    public const int BufferShift = 16;
#pragma warning restore CS1591
}

/// <summary>Per-op flag values: accept, recv/send, cancel, timeout, msg_ring, register opcodes, mmap offsets.</summary>
public static class OpFlags
{
#pragma warning disable CS1591
    public const ushort AcceptMultishot = 1 << 0;
    public const ushort RecvSendPollFirst = 1 << 0;
    public const ushort RecvMultishot = 1 << 1;
    public const uint AsyncCancelAll = 1u << 0;
    public const uint AsyncCancelFd = 1u << 1;
    public const uint AsyncCancelAny = 1u << 2;
    public const uint TimeoutAbs = 1u << 0;
    public const uint TimeoutEtimeSuccess = 1u << 5;
    public const uint MsgData = 0;
    public const uint RegisterProbe = 8;
    public const uint RegisterPbufRing = 22;
    public const uint UnregisterPbufRing = 23;
    public const uint RegisterRingFds = 20;
    public const ulong OffSqRing = 0;
    public const ulong OffCqRing = 0x8000000;
    public const ulong OffSqes = 0x10000000;
    public const uint SqNeedWakeup = 1u << 0;
    public const uint SqCqOverflow = 1u << 1;
    public const uint SqTaskrun = 1u << 2;
    public const ushort ProbeOpSupported = 1 << 0;
#pragma warning restore CS1591
}
