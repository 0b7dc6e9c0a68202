using Microsoft.Extensions.Logging;
using Hyperion.Internal.Http;

namespace Hyperion.Internal.Infrastructure;

/// <summary>Every log line the server writes, defined once (LoggerMessage: no formatting cost when the level is off).</summary>
internal sealed class ServerLog
{
    private static readonly Action<ILogger, string, string, RejectionReason, int, Exception?> RejectedMessage =
        LoggerMessage.Define<string, string, RejectionReason, int>(LogLevel.Information, new EventId(1, "RequestRejected"),
            "Rejected request from {Remote} ({Method}): {Reason}, answered {Status}");

    // Same event as RequestRejected: one count of rejections by reason across HTTP/1.1 and HTTP/2.
    private static readonly Action<ILogger, string, string, RejectionReason, string, Exception?> StreamRejectedMessage =
        LoggerMessage.Define<string, string, RejectionReason, string>(LogLevel.Information, new EventId(1, "RequestRejected"),
            "Rejected HTTP/2 request from {Remote} ({Method}): {Reason}, answered {Answer}");

    private static readonly Action<ILogger, string, string, Exception?> AppErrorMessage =
        LoggerMessage.Define<string, string>(LogLevel.Error, new EventId(2, "AppError"), "Unhandled exception serving {Method} {Path}");

    private static readonly Action<ILogger, string, Exception?> ConnectionErrorMessage =
        LoggerMessage.Define<string>(LogLevel.Debug, new EventId(3, "ConnectionError"), "Connection {Remote} ended abruptly");

    private static readonly Action<ILogger, string, Exception?> KeepAliveMessage =
        LoggerMessage.Define<string>(LogLevel.Debug, new EventId(4, "KeepAliveTimeout"), "Closed idle connection {Remote}");

    private static readonly Action<ILogger, string, Exception?> HookErrorMessage =
        LoggerMessage.Define<string>(LogLevel.Error, new EventId(5, "HookError"), "A {Hook} hook threw; the request continues");

    private static readonly Action<ILogger, string, Exception?> ListeningMessage =
        LoggerMessage.Define<string>(LogLevel.Information, new EventId(6, "Listening"), "Listening on {Url}");

    private static readonly Action<ILogger, int, Exception?> StoppingMessage =
        LoggerMessage.Define<int>(LogLevel.Information, new EventId(7, "Stopping"), "Stopping: draining {Connections} connections");

    private static readonly Action<ILogger, int, Exception?> ForcedMessage =
        LoggerMessage.Define<int>(LogLevel.Warning, new EventId(8, "StopForced"), "Stop timeout reached: closed {Connections} connections with requests in flight");

    private static readonly Action<ILogger, string, string, Exception?> StaticPathRefusedMessage =
        LoggerMessage.Define<string, string>(LogLevel.Information, new EventId(50, "StaticPathRefused"), "Refused static file path from {Remote}: {Path} is not a clean relative path, answered 400");

    private static readonly Action<ILogger, string, Exception?> FileMissingMessage =
        LoggerMessage.Define<string>(LogLevel.Warning, new EventId(9, "FileMissing"), "File response not found: {Path}");

    private static readonly Action<ILogger, string, Exception?> OverloadMessage =
        LoggerMessage.Define<string>(LogLevel.Information, new EventId(10, "ConnectionLimit"), "Refused connection from {Remote}: MaxConcurrentConnections reached, answered 503");

    private static readonly Action<ILogger, int, Exception?> LoopFailedMessage =
        LoggerMessage.Define<int>(LogLevel.Critical, new EventId(11, "LoopFailed"), "io_uring loop {Loop} failed and stopped");

    private static readonly Action<ILogger, string, string, Exception?> TransportMessage =
        LoggerMessage.Define<string, string>(LogLevel.Information, new EventId(12, "Transport"), "Transport: {Transport} ({Detail})");

    private static readonly Action<ILogger, string, Exception?> ConnectionFaultMessage =
        LoggerMessage.Define<string>(LogLevel.Error, new EventId(13, "ConnectionFault"), "Connection {Remote} failed with an unexpected exception");

    private static readonly Action<ILogger, string, Exception?> BackgroundFaultMessage =
        LoggerMessage.Define<string>(LogLevel.Error, new EventId(14, "BackgroundFault"), "A background {Operation} task failed");

    private static readonly Action<ILogger, string, string, string, Exception?> ProtocolErrorMessage =
        LoggerMessage.Define<string, string, string>(LogLevel.Information, new EventId(15, "ProtocolError"),
            "Closed connection {Remote} with GOAWAY {ErrorCode}: {Reason}");

    private static readonly Action<ILogger, string, string, Exception?> TlsHandshakeFailedMessage =
        LoggerMessage.Define<string, string>(LogLevel.Debug, new EventId(30, "TlsHandshakeFailed"), "TLS handshake with {Remote} failed: {Reason}");

    private static readonly Action<ILogger, string, double, Exception?> ResponseRateMessage =
        LoggerMessage.Define<string, double>(LogLevel.Information, new EventId(13, "MinResponseDataRate"), "Closed connection {Remote}: it read the response slower than MinResponseDataRate ({Rate} B/s)");

    private static readonly Action<ILogger, string, string, long, string, string, long, Exception?> LoopStallMessage =
        LoggerMessage.Define<string, string, long, string, string, long>(LogLevel.Warning, new EventId(40, "LoopStall"),
            "{Route} held {Thread} for {Elapsed} ms{Running}{Waited} (LoopStallThreshold {Threshold} ms): requests behind it on that thread waited");

    private static readonly Action<ILogger, string, Exception?> RouteOffloadedMessage =
        LoggerMessage.Define<string>(LogLevel.Warning, new EventId(41, "RouteOffloaded"),
            "{Route} now runs on the thread pool (DispatchMode.ThreadPool) because it blocked inline; register it with DispatchMode.ThreadPool, or make it truly async, to silence this");

    private static readonly Action<ILogger, string, string, Exception?> TransportFallbackMessage =
        LoggerMessage.Define<string, string>(LogLevel.Warning, new EventId(12, "Transport"), "Transport: {Transport} ({Detail})");

    private static readonly Action<ILogger, string, int, Exception?> PlainHttpOnTlsMessage =
        LoggerMessage.Define<string, int>(LogLevel.Information, new EventId(31, "PlainHttpOnTls"),
            "{Remote} sent a plain-HTTP request to the TLS listener on port {Port}; answered 400 (the client should use https://)");

    private readonly ILogger _logger;

    /// <summary>The server's logger, for layers that define their own events (Hyperion.Grpc).</summary>
    internal ILogger Logger => _logger;

    /// <summary>With no <paramref name="factory"/>, warnings and errors go to <paramref name="stderr"/> (default: <see cref="Console.Error"/>), one line each.</summary>
    public ServerLog(ILoggerFactory? factory, TextWriter? stderr = null)
    {
        _logger = factory?.CreateLogger("Hyperion.Server") ?? new StderrLogger(stderr);
    }

    public void Rejected(string remote, string method, RejectionReason reason, int status) => RejectedMessage(_logger, remote, method, reason, status, null);

    /// <summary>An HTTP/2 request refused with a frame rather than a status: <paramref name="answer"/> is e.g. "RST_STREAM ProtocolError".</summary>
    public void StreamRejected(string remote, string method, RejectionReason reason, string answer) => StreamRejectedMessage(_logger, remote, method, reason, answer, null);

    public void AppError(string method, string path, Exception ex) => AppErrorMessage(_logger, method, path, ex);

    public void ConnectionError(string remote, Exception ex) => ConnectionErrorMessage(_logger, remote, ex);

    /// <summary>An exception no peer behaviour explains (a bug, not a reset): Error.</summary>
    public void ConnectionFault(string remote, Exception ex) => ConnectionFaultMessage(_logger, remote, ex);

    /// <summary>A task nobody awaits (a connection's run, a resumed receive) ended with an exception.</summary>
    public void BackgroundFault(string operation, Exception ex) => BackgroundFaultMessage(_logger, operation, ex);

    /// <summary>The peer broke the protocol or flooded us; the connection is closed with this error code.</summary>
    public void ProtocolError(string remote, string errorCode, string reason) => ProtocolErrorMessage(_logger, remote, errorCode, reason, null);

    public void KeepAliveTimeout(string remote) => KeepAliveMessage(_logger, remote, null);

    public void MinResponseDataRate(string remote, double rate) => ResponseRateMessage(_logger, remote, rate, null);

    public void HookError(string hook, Exception ex) => HookErrorMessage(_logger, hook, ex);

    public void Listening(string url) => ListeningMessage(_logger, url, null);

    public void Stopping(int connections) => StoppingMessage(_logger, connections, null);

    public void StopForced(int connections) => ForcedMessage(_logger, connections, null);

    public void FileMissing(string path) => FileMissingMessage(_logger, path, null);

    public void StaticPathRefused(string remote, string path) => StaticPathRefusedMessage(_logger, remote, path, null);

    public void LoopFailed(int loop, Exception ex) => LoopFailedMessage(_logger, loop, ex);

    public void Transport(string transport, string detail) => TransportMessage(_logger, transport, detail, null);

    /// <summary>The transport asked for (or Auto's first choice) is unavailable: a Warning, since it changes performance.</summary>
    public void TransportFallback(string transport, string detail) => TransportFallbackMessage(_logger, transport, detail, null);

    public void PlainHttpOnTls(string remote, int port) => PlainHttpOnTlsMessage(_logger, remote, port, null);

    public void ConnectionLimit(string remote) => OverloadMessage(_logger, remote, null);

    public void TlsHandshakeFailed(string remote, string reason) => TlsHandshakeFailedMessage(_logger, remote, reason, null);

    /// <summary>A route held the thread it ran inline on beyond the threshold (<paramref name="stillRunning"/>: seen by the monitor).</summary>
    /// <summary><paramref name="heldMs"/> excludes the <paramref name="waitedMs"/> the thread waited for a CPU meanwhile.</summary>
    public void LoopStall(string route, string thread, long heldMs, long waitedMs, bool stillRunning, long thresholdMs)
        => LoopStallMessage(_logger, route, thread, heldMs, stillRunning ? " and is still running" : string.Empty,
            waitedMs > 0 ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $", not counting {waitedMs} ms it waited for a CPU or a GC") : string.Empty, thresholdMs, null);

    public void RouteOffloaded(string route) => RouteOffloadedMessage(_logger, route, null);
}
