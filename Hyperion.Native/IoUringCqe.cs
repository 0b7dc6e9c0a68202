using System.Runtime.InteropServices;

namespace Hyperion.Native;

/// <summary>struct io_uring_cqe: 16 bytes.</summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
public struct IoUringCqe
{
    /// <summary>The submission's user_data.</summary>
    public ulong UserData;

    /// <summary>Result: bytes, a new fd, or -errno.</summary>
    public int Res;

    /// <summary>IORING_CQE_F_* flags; the upper 16 bits hold the selected buffer id.</summary>
    public uint Flags;

    /// <summary>Whether more completions will follow for this (multishot) submission.</summary>
    public readonly bool HasMore => (Flags & CqeFlags.More) != 0;

    /// <summary>Whether a provided buffer was consumed; see <see cref="BufferId"/>.</summary>
    public readonly bool HasBuffer => (Flags & CqeFlags.Buffer) != 0;

    /// <summary>The provided buffer id (valid when <see cref="HasBuffer"/>).</summary>
    public readonly ushort BufferId => (ushort)(Flags >> CqeFlags.BufferShift);
}
