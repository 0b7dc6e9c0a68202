namespace Hyperion;

/// <summary>Which connection loop serves the sockets.</summary>
public enum TransportKind
{
    /// <summary>io_uring when the kernel offers what the loop needs, otherwise managed sockets (with one log line saying why).</summary>
    Auto = 0,

    /// <summary>The io_uring loop; starting fails when io_uring is unavailable.</summary>
    IoUring = 1,

    /// <summary>Managed sockets and System.IO.Pipelines.</summary>
    Sockets = 2,
}
