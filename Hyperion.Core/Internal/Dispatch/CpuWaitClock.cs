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
    /// True when thread <paramref name="threadId"/> waits for a CPU right now: runnable, and no CPU time used since the
    /// last look (<paramref name="lastCpu"/>, updated). Such a wait is not in <see cref="OfThread"/> until the thread runs again.
    /// </summary>
    public virtual bool IsWaitingNow(int threadId, ref long lastCpu)
    {
        if (threadId == 0 || !Native.ThreadSchedStat.TryRead(threadId, out long cpu, out _))
        {
            return false;
        }

        bool ran = cpu != lastCpu;
        lastCpu = cpu;
        return !ran && Native.ThreadSchedStat.IsRunnable(threadId);
    }

    /// <summary>A GC suspends every managed thread; the thread is then asleep, which its run delay does not count.</summary>
    private static long WithPauses(long runDelayNanoseconds)
        => runDelayNanoseconds < 0 ? -1 : (runDelayNanoseconds / 1_000_000) + (long)GC.GetTotalPauseDuration().TotalMilliseconds;

    private sealed class NoCpuWait : CpuWaitClock
    {
        public override int CurrentThreadId() => 0;

        public override long CurrentThread() => -1;

        public override long OfThread(int threadId) => -1;

        public override bool IsWaitingNow(int threadId, ref long lastCpu) => false;
    }
}
