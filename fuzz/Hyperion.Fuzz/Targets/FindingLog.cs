using Hyperion.Internal.Http;
using Hyperion.Http2.Internal;
using Hyperion.Internal.Http1;
using Microsoft.Extensions.Logging;

namespace Hyperion.Fuzz.Targets;

/// <summary>
/// The server's logger while fuzzing. The connections catch and log what ends them; a log line at Error or above,
/// or one carrying an exception that is not how bad input is meant to end a connection, is a finding even though
/// nothing escaped (e.g. an InvalidOperationException swallowed by a connection's catch).
/// </summary>
internal sealed class FindingLog : ILoggerFactory, ILogger
{
    private Exception? _finding;

    public void Reset() => _finding = null;

    public void ThrowIfFinding()
    {
        if (_finding is { } finding)
        {
            _finding = null;
            throw finding;
        }
    }

    /// <summary>How bad input legitimately ends a connection or a request.</summary>
    internal static bool IsDesigned(Exception ex) => ex is BadRequestException or Http2ConnectionException or IOException or OperationCanceledException;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (_finding is not null)
        {
            return;
        }

        if (logLevel >= LogLevel.Error || (exception is not null && !IsDesigned(exception)))
        {
            string message = $"{logLevel} {eventId.Name}: {formatter(state, exception)}";
            _finding = exception is null ? new FuzzFindingException(message) : new FuzzFindingException(message, exception);
        }
    }

    public bool IsEnabled(LogLevel logLevel) => true;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }
}
