namespace Hyperion.Native;

/// <summary>An io_uring system call failed; <see cref="Errno"/> says why.</summary>
public sealed class IoUringException : Exception
{
    /// <summary>Creates the exception for <paramref name="operation"/> failing with <paramref name="errno"/>.</summary>
    public IoUringException(string operation, int errno)
        : base($"{operation} failed: {Libc.Describe(errno)}")
    {
        Errno = errno;
    }

    /// <summary>The errno value.</summary>
    public int Errno { get; }
}
