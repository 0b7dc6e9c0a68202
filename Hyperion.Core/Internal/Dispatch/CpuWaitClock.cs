namespace Hyperion.Internal.Dispatch;

/// <summary>
/// Milliseconds a thread was kept from running: runnable but waiting for a CPU that other threads or processes had, or
/// suspended by a garbage collection. The watchdog subtracts this from an inline call's wall time: on a loaded machine
/// (or a server pinned to one core, where its own pool threads run TLS and handlers beside the loop) a call can be
/// kept off its CPU for longer than the threshold without holding its thread, and that must not move a fast route to
/// the pool for good. Cumulative values; virtual for tests, which pair a fake clock with a fake wait.
/// </summary>
internal class CpuWaitClock
{
    /// <summary>The kernel's per-thread run delay (Linux schedstat) plus the process's GC pauses; -1 where the kernel does not say.</summary>
    public static CpuWaitClock System { get; } = new();

    /// <summary>None: every call's wall time counts (a test's fake clock, unless the test gives a fake wait too).</summary>
    public static CpuWaitClock None { get; } = new NoCpuWait();

    /// <summary>The calling thread's id as <see cref="OfThread"/> takes it.</summary>
    public virtual int CurrentThreadId() => Native.ThreadSchedStat.CurrentThreadId();

    /// <summary>Milliseconds the calling thread has been kept from running since it started; -1 when unknown.</summary>
    public virtual long CurrentThread() => WithPauses(Native.ThreadSchedStat.RunDelayNanoseconds());

    /// <summary>Milliseconds thread <paramref name="threadId"/> (from <see cref="CurrentThreadId"/>) has been kept from running; -1 when unknown.</summary>
    public virtual long OfThread(int threadId) => threadId == 0 ? -1 : WithPauses(Native.ThreadSchedStat.RunDelayNanoseconds(threadId));

    /// <summary>
    /// Monitor: an upper bound on how long the loop thread of <paramref name="slot"/> may have been waiting for a CPU
    /// right now (<paramref name="now"/>), which <see cref="OfThread"/> counts only once the thread runs again: 0 unless
    /// it is runnable; else the time since the look before the one that last saw its CPU time move.
    /// </summary>
    public virtual long OngoingWait(InlineCallSlot slot, long now)
    {
        if (slot.ThreadId == 0 || !Native.ThreadSchedStat.TryRead(slot.ThreadId, out long cpu, out _))
        {
            return 0;
        }

        if (cpu != slot.MonitorCpu)
        {
            slot.MonitorCpu = cpu;
            slot.MonitorRanAfter = slot.MonitorLook;
        }

        slot.MonitorLook = now;
        return Native.ThreadSchedStat.IsRunnable(slot.ThreadId) ? now - slot.MonitorRanAfter : 0;
    }

    /// <summary>A GC suspends every managed thread; the thread is then asleep, which its run delay does not count.</summary>
    private static long WithPauses(long runDelayNanoseconds)
        => runDelayNanoseconds < 0 ? -1 : (runDelayNanoseconds / 1_000_000) + (long)GC.GetTotalPauseDuration().TotalMilliseconds;

    private sealed class NoCpuWait : CpuWaitClock
    {
        public override int CurrentThreadId() => 0;

        public override long CurrentThread() => -1;

        public override long OfThread(int threadId) => -1;

        public override long OngoingWait(InlineCallSlot slot, long now) => 0;
    }
}
