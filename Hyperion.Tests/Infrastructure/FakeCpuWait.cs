using Hyperion.Internal.Dispatch;

namespace Hyperion.Tests.Infrastructure;

/// <summary>A thread's time off the CPU as the test says, beside its fake clock (every thread alike).</summary>
internal sealed class FakeCpuWait : CpuWaitClock
{
    private long _ms;

    public void Add(long ms) => Interlocked.Add(ref _ms, ms);

    public override int CurrentThreadId() => 1;

    public override long CurrentThread() => Interlocked.Read(ref _ms);

    public override long OfThread(int threadId) => Interlocked.Read(ref _ms);

    public override long OngoingWait(InlineCallSlot slot, long now) => 0;
}
