using System.Runtime.InteropServices;

namespace Hyperion.Native;

/// <summary>struct iovec: one block of a gathered send.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IoVector
{
    /// <summary>iov_base.</summary>
    public nint Base;

    /// <summary>iov_len.</summary>
    public nuint Length;
}
