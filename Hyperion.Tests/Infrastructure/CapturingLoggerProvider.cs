using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Hyperion.Tests.Infrastructure;

/// <summary>Collects log lines so tests can assert what the server said (and how often).</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider, ILoggerFactory
{
    private readonly ConcurrentQueue<LogLine> _lines = new();

    public ILoggerFactory Factory => this;

    public IReadOnlyList<LogLine> Lines => _lines.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    public sealed record LogLine(LogLevel Level, EventId EventId, string Message, Exception? Exception);

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            _ = category;
            owner._lines.Enqueue(new LogLine(logLevel, eventId, formatter(state, exception), exception));
        }
    }
}
