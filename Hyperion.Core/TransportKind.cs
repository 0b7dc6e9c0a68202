namespace Hyperion;

/// <summary>Which connection loop serves the sockets.</summary>
public enum TransportKind
{
    /// <summary>io_uring when the kernel offers what the loop needs; otherwise epoll on Linux and managed sockets elsewhere (with one log line saying why).</summary>
    Auto = 0,

    /// <summary>The io_uring loop; starting fails when io_uring is unavailable.</summary>
    IoUring = 1,

    /// <summary>System.Net.Sockets and System.IO.Pipelines: portable, and the transport on systems other than Linux.</summary>
    Sockets = 2,

    /// <summary>
    /// The epoll loop (Linux): the same loop threads as io_uring (inline fast path, one SO_REUSEPORT listener per
    /// loop), waiting with epoll_wait and moving bytes with recv/send. Where io_uring is blocked, this is the fast path.
    /// </summary>
    Epoll = 3,
}
