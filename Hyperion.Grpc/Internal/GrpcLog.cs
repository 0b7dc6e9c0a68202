using Microsoft.Extensions.Logging;

namespace Hyperion.Grpc.Internal;

/// <summary>Hyperion.Grpc's log events (ids 200–219), written to the server's logger.</summary>
internal static class GrpcLog
{
    private static readonly Action<ILogger, string, string, Exception?> InvalidTimeoutMessage =
        LoggerMessage.Define<string, string>(LogLevel.Information, new EventId(200, "GrpcInvalidTimeout"),
            "gRPC call {Method}: grpc-timeout '{Value}' is not a valid timeout (PROTOCOL-HTTP2.md: 1-8 digits and H, M, S, m, u or n); ignored");

    private static readonly Action<ILogger, string, Exception?> HandlerFailedMessage =
        LoggerMessage.Define<string>(LogLevel.Error, new EventId(201, "GrpcHandlerFailed"),
            "gRPC call {Method}: the handler threw; the client gets UNKNOWN");

    private static readonly Action<ILogger, string, string, string, Exception?> CallRefusedMessage =
        LoggerMessage.Define<string, string, string>(LogLevel.Information, new EventId(202, "GrpcCallRefused"),
            "gRPC call {Method}: {Status}: {Detail}");

    private static readonly Action<ILogger, string, Exception?> DeadlineExceededMessage =
        LoggerMessage.Define<string>(LogLevel.Debug, new EventId(203, "GrpcDeadlineExceeded"),
            "gRPC call {Method}: deadline exceeded");

    public static void InvalidTimeout(ILogger logger, string method, string value) => InvalidTimeoutMessage(logger, method, value, null);

    public static void HandlerFailed(ILogger logger, string method, Exception ex) => HandlerFailedMessage(logger, method, ex);

    public static void CallRefused(ILogger logger, string method, string status, string detail) => CallRefusedMessage(logger, method, status, detail, null);

    public static void DeadlineExceeded(ILogger logger, string method) => DeadlineExceededMessage(logger, method, null);
}
