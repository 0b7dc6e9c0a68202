namespace Hyperion.Internal.Timeouts;

/// <summary>
/// The server's one clock: reads <see cref="HyperionOptions.TimeProvider"/> and, about once a second, ticks every
/// connection's <see cref="TimeoutControl"/>. A tick only compares deadlines and queues expiries on each connection's
/// own scheduler, so it is short; a tick that comes while the previous one still runs is skipped, never overlapped.
/// </summary>
internal sealed class Heartbeat : IDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _time;
    private readonly long _origin;
    private readonly Action<long> _onTick;
    private readonly Lock _lock = new();
    private ITimer? _timer;
    private int _running;
    private long _skipped;

    public Heartbeat(TimeProvider time, Action<long> onTick)
    {
        _time = time;
        _origin = time.GetTimestamp();
        _onTick = onTick;
    }

    public TimeProvider TimeProvider => _time;

    /// <summary>Milliseconds since the server was created, on its <see cref="TimeProvider"/>.</summary>
    public long Now => (long)_time.GetElapsedTime(_origin).TotalMilliseconds;

    /// <summary>Ticks skipped because the previous one was still running.</summary>
    public long SkippedTicks => Interlocked.Read(ref _skipped);

    public void Start()
    {
        lock (_lock)
        {
            _timer ??= _time.CreateTimer(static s => ((Heartbeat)s!).OnTimer(), this, Interval, Interval);
        }
    }

    internal void OnTimer()
    {
        if (Interlocked.Exchange(ref _running, 1) != 0)
        {
            Interlocked.Increment(ref _skipped);
            return;
        }

        try
        {
            _onTick(Now);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _timer?.Dispose();
        }
    }
}
