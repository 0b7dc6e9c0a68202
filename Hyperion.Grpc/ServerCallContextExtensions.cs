using Grpc.Core;
using Hyperion.Grpc.Internal;

namespace Hyperion.Grpc;

/// <summary>What a Hyperion.Grpc call knows beyond <see cref="ServerCallContext"/>'s members.</summary>
public static class ServerCallContextExtensions
{
    /// <summary>
    /// Whether the request message the handler read last on this call arrived compressed: its Compressed-Flag was 1
    /// (PROTOCOL-HTTP2.md, Length-Prefixed-Message). The flag is per message, so one stream can mix both, as grpc's
    /// interop CompressedRequest feature checks; the message itself always reaches the handler decompressed.
    /// False before the first message.
    /// </summary>
    /// <exception cref="ArgumentException">The context is not one of Hyperion.Grpc's calls.</exception>
    public static bool WasLastRequestMessageCompressed(this ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context is GrpcServerCall call
            ? call.LastMessageCompressed
            : throw new ArgumentException("The context is not a Hyperion.Grpc call.", nameof(context));
    }
}
