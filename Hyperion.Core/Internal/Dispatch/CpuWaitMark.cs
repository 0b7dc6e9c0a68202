namespace Hyperion.Internal.Dispatch;

/// <summary>
/// A thread's CPU wait (<see cref="CpuWaitClock"/>) as last read, and when: refreshed as an inline call begins if older
/// than a quarter threshold, so reading it costs a few syscalls per thread per quarter threshold, not per call.
/// Written by its thread only; a loop's is read by the watchdog's monitor too.
/// </summary>
internal sealed class CpuWaitMark
{
    private object? _owner;
    private long _time;
    private long _wait = -1;

    /// <summary>The thread's CPU wait in milliseconds when the mark was set; -1 when unknown.</summary>
    public long Wait => Volatile.Read(ref _wait);

    /// <summary>
    /// Owner thread only: true unless <paramref name="watchdog"/> set the mark less than <paramref name="maxAgeMs"/> before
    /// <paramref name="now"/> on its clock. A pool thread's mark serves every server of the process, each with its own clock.
    /// </summary>
    public bool IsStale(object watchdog, long now, long maxAgeMs) => _owner != watchdog || now - _time >= maxAgeMs;

    /// <summary>The CPU wait <paramref name="watchdog"/> read; -1 when another server's watchdog set the mark.</summary>
    public long WaitFor(object watchdog) => _owner == watchdog ? Wait : -1;

    /// <summary>Owner thread only.</summary>
    public void Set(object watchdog, long now, long wait)
    {
        _owner = watchdog;
        _time = now;
        Volatile.Write(ref _wait, wait);
    }
}
