using System.Runtime.InteropServices;

namespace Hyperion.Native;

/// <summary>struct io_uring_sqe (linux/io_uring.h): 64 bytes. Unions are overlaid fields at the same offset.</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
public struct IoUringSqe
{
    /// <summary>Operation (<see cref="IoUringOp"/>).</summary>
    [FieldOffset(0)] public byte Opcode;

    /// <summary>IOSQE_* flags (<see cref="SqeFlags"/>).</summary>
    [FieldOffset(1)] public byte Flags;

    /// <summary>Request priority; for send/recv the IORING_RECVSEND_* flags, for accept IORING_ACCEPT_*.</summary>
    [FieldOffset(2)] public ushort IoPrio;

    /// <summary>File descriptor the operation works on.</summary>
    [FieldOffset(4)] public int Fd;

    /// <summary>Offset (union with addr2).</summary>
    [FieldOffset(8)] public ulong Off;

    /// <summary>Second address (union with off), e.g. accept's addrlen pointer.</summary>
    [FieldOffset(8)] public ulong Addr2;

    /// <summary>Buffer pointer (union with splice_off_in).</summary>
    [FieldOffset(16)] public ulong Addr;

    /// <summary>Buffer length or iovec count.</summary>
    [FieldOffset(24)] public uint Len;

    /// <summary>The per-op flags union: msg_flags, accept_flags, cancel_flags, timeout_flags, poll32_events …</summary>
    [FieldOffset(28)] public uint OpFlags;

    /// <summary>Echoed back in the completion.</summary>
    [FieldOffset(32)] public ulong UserData;

    /// <summary>Fixed buffer index (union with buf_group).</summary>
    [FieldOffset(40)] public ushort BufIndex;

    /// <summary>Provided-buffer group for IOSQE_BUFFER_SELECT (union with buf_index).</summary>
    [FieldOffset(40)] public ushort BufGroup;

    /// <summary>Credentials personality.</summary>
    [FieldOffset(42)] public ushort Personality;

    /// <summary>splice_fd_in / file_index / addr_len union.</summary>
    [FieldOffset(44)] public int SpliceFdIn;

    /// <summary>Third address.</summary>
    [FieldOffset(48)] public ulong Addr3;
}
