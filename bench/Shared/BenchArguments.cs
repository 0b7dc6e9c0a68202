using Hyperion;

namespace Hyperion.Bench;

/// <summary>The command-line values the Hyperion bench servers (HyperionBench, HyperionGrpc) share.</summary>
internal static class BenchArguments
{
    /// <summary><c>--transport sockets|iouring|epoll|auto</c>, as bench/lib.sh passes it.</summary>
    public static TransportKind Transport(string value) => value switch
    {
        "sockets" => TransportKind.Sockets,
        "iouring" => TransportKind.IoUring,
        "epoll" => TransportKind.Epoll,
        "auto" => TransportKind.Auto,
        _ => throw new ArgumentException($"--transport must be sockets, iouring, epoll or auto, not '{value}'"),
    };
}
