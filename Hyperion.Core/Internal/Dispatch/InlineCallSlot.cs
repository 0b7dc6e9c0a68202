namespace Hyperion.Internal.Dispatch;

/// <summary>
/// What one loop thread is running inline right now, written by that thread and read by the watchdog's monitor.
/// <see cref="Active"/> is a call number (0: idle) written last on entry, so a reader that sees the same number
/// before and after reading <see cref="Target"/> and <see cref="Start"/> has a consistent pair.
/// </summary>
internal sealed class InlineCallSlot(string threadName)
{
    private long _calls;
    private long _active;

    public string ThreadName { get; } = threadName;

    /// <summary>The loop thread's id for <see cref="CpuWaitClock.OfThread"/>, set as the watchdog starts watching it.</summary>
    public int ThreadId { get; set; }

    /// <summary>The loop thread's CPU wait as of shortly before its current call (see <see cref="LoopWatchdog.Begin"/>).</summary>
    public CpuWaitMark Mark { get; } = new();

    /// <summary>Monitor only (<see cref="CpuWaitClock.OngoingWait"/>): when it last looked at the loop thread, its CPU time then, and a time after which the thread is known to have run.</summary>
    public long MonitorLook;

    /// <inheritdoc cref="MonitorLook"/>
    public long MonitorCpu;

    /// <inheritdoc cref="MonitorLook"/>
    public long MonitorRanAfter;

    public DispatchTarget? Target { get; private set; }

    public long Start { get; private set; }

    /// <summary>The call is a streaming body's callback (it has its own first-call allowance).</summary>
    public bool StreamingBody { get; private set; }

    /// <summary>The call number the monitor last reported, so one call is reported once.</summary>
    public long Reported { get; set; }

    public long Active => Volatile.Read(ref _active);

    /// <summary>Owner thread only.</summary>
    public void Enter(DispatchTarget target, long start, bool streamingBody = false)
    {
        Target = target;
        Start = start;
        StreamingBody = streamingBody;
        Volatile.Write(ref _active, ++_calls);
    }

    /// <summary>Owner thread only.</summary>
    public void Exit() => Volatile.Write(ref _active, 0);
}
