using System.Runtime.InteropServices;

namespace Hyperion.Native;

/// <summary>struct io_sqring_offsets: 40 bytes.</summary>
[StructLayout(LayoutKind.Sequential, Size = 40)]
public struct SqRingOffsets
{
    /// <summary>Offsets of the SQ ring fields in the mapped SQ ring.</summary>
    public uint Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, Resv1;

    /// <summary>Reserved.</summary>
    public ulong Resv2;
}

/// <summary>struct io_cqring_offsets: 40 bytes.</summary>
[StructLayout(LayoutKind.Sequential, Size = 40)]
public struct CqRingOffsets
{
    /// <summary>Offsets of the CQ ring fields in the mapped CQ ring.</summary>
    public uint Head, Tail, RingMask, RingEntries, Overflow, Cqes, Flags, Resv1;

    /// <summary>Reserved.</summary>
    public ulong Resv2;
}

/// <summary>struct io_uring_params: 120 bytes, filled by io_uring_setup.</summary>
[StructLayout(LayoutKind.Sequential, Size = 120)]
public struct IoUringParams
{
    /// <summary>Ring sizes, chosen by the kernel.</summary>
    public uint SqEntries, CqEntries;

    /// <summary>IORING_SETUP_* flags requested.</summary>
    public uint Flags;

    /// <summary>SQPOLL settings (unused here).</summary>
    public uint SqThreadCpu, SqThreadIdle;

    /// <summary>IORING_FEAT_* bits the kernel reports.</summary>
    public uint Features;

    /// <summary>Work-queue fd to share (unused).</summary>
    public uint WqFd;

    /// <summary>Reserved.</summary>
    public uint Resv0, Resv1, Resv2;

    /// <summary>SQ ring layout.</summary>
    public SqRingOffsets SqOff;

    /// <summary>CQ ring layout.</summary>
    public CqRingOffsets CqOff;
}

/// <summary>struct io_uring_buf: one entry of a provided-buffer ring, 16 bytes.</summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
public struct IoUringBuf
{
    /// <summary>Buffer address.</summary>
    public ulong Addr;

    /// <summary>Buffer length.</summary>
    public uint Len;

    /// <summary>Buffer id, reported back in the CQE flags.</summary>
    public ushort Bid;

    /// <summary>Reserved; in entry 0 this field is the ring tail.</summary>
    public ushort Resv;
}

/// <summary>struct io_uring_buf_reg: the argument of IORING_REGISTER_PBUF_RING, 40 bytes.</summary>
[StructLayout(LayoutKind.Sequential, Size = 40)]
public struct IoUringBufReg
{
    /// <summary>Page-aligned ring memory.</summary>
    public ulong RingAddr;

    /// <summary>Entries (a power of two).</summary>
    public uint RingEntries;

    /// <summary>Buffer group id.</summary>
    public ushort Bgid;

    /// <summary>Padding.</summary>
    public ushort Pad;

    /// <summary>Reserved.</summary>
    public ulong Resv0, Resv1, Resv2;
}
