using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Hyperion.Internal.Infrastructure;

/// <summary>
/// The logger of a server given no <see cref="HyperionOptions.LoggerFactory"/>: Warning and above go to stderr, one
/// line each (an exception as its type, message and innermost frame, never a multi-line trace), so a handler that
/// throws or a loop that stalls is never silent. Information and below are dropped: they are per-request noise
/// (rejections, listening lines) for which a host plugs in its own logging.
/// Microsoft.Extensions.Logging.Console would bring Options, Configuration and a background queue for this one line.
/// </summary>
internal sealed class StderrLogger(TextWriter? writer) : ILogger
{
    private readonly Lock _lock = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }

        var line = new StringBuilder(160);
        line.Append(DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture))
            .Append(' ').Append(LevelText(logLevel))
            .Append(" Hyperion[").Append(eventId.Id.ToString(CultureInfo.InvariantCulture)).Append("] ");
        AppendOneLine(line, formatter(state, exception));
        if (exception is not null)
        {
            line.Append(": ").Append(exception.GetType().FullName).Append(": ");
            AppendOneLine(line, exception.Message);
            if (FirstFrame(exception) is { } frame)
            {
                line.Append(" (").Append(frame).Append(')');
            }
        }

        line.Append('\n');
        var target = writer ?? Console.Error;
        lock (_lock)
        {
            target.Write(line.ToString());
            target.Flush();
        }
    }

    private static string LevelText(LogLevel level) => level switch
    {
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        _ => "crit",
    };

    private static void AppendOneLine(StringBuilder line, string text)
    {
        foreach (char c in text)
        {
            line.Append(c is '\r' or '\n' ? ' ' : c);
        }
    }

    /// <summary>Where it was thrown: the first "at ..." of the trace.</summary>
    private static string? FirstFrame(Exception exception)
    {
        string? trace = exception.StackTrace;
        if (string.IsNullOrEmpty(trace))
        {
            return null;
        }

        int end = trace.IndexOf('\n', StringComparison.Ordinal);
        return (end < 0 ? trace : trace[..end]).Trim();
    }
}
