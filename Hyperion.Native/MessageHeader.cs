using System.Runtime.InteropServices;

namespace Hyperion.Native;

/// <summary>struct msghdr (LP64) for sendmsg(2) and IORING_OP_SENDMSG: only the iovec fields are used here.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct MessageHeader
{
    /// <summary>msg_name: no address on a connected socket.</summary>
    public nint Name;

    /// <summary>msg_namelen.</summary>
    public uint NameLength;

    /// <summary>msg_iov: the first of <see cref="IoVectorCount"/> <see cref="IoVector"/>s.</summary>
    public nint IoVectors;

    /// <summary>msg_iovlen.</summary>
    public nuint IoVectorCount;

    /// <summary>msg_control: no ancillary data.</summary>
    public nint Control;

    /// <summary>msg_controllen.</summary>
    public nuint ControlLength;

    /// <summary>msg_flags (set by the kernel on receive only).</summary>
    public int Flags;
}
