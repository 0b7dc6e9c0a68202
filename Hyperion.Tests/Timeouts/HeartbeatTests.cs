using Hyperion.Internal.Timeouts;
using Microsoft.Extensions.Time.Testing;

namespace Hyperion.Tests.Timeouts;

/// <summary>The server's one heartbeat: a tick that comes while the previous one still runs is skipped, never overlapped.</summary>
public class HeartbeatTests
{
    [Fact]
    public async Task A_slow_tick_is_never_overlapped_by_the_next()
    {
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        int running = 0;
        int maxRunning = 0;
        int calls = 0;
        using var heartbeat = new Heartbeat(new FakeTimeProvider(), _ =>
        {
            int now = Interlocked.Increment(ref running);
            maxRunning = Math.Max(maxRunning, now);
            Interlocked.Increment(ref calls);
            entered.Set();
            release.Wait(TimeSpan.FromSeconds(10));
            Interlocked.Decrement(ref running);
        });

        // A timer that fires again while the first tick is still busy (as System.Threading.Timer does).
        var slow = Task.Run(heartbeat.OnTimer);
        entered.Wait(TimeSpan.FromSeconds(10)).Should().BeTrue();
        heartbeat.OnTimer();
        heartbeat.OnTimer();
        calls.Should().Be(1);
        heartbeat.SkippedTicks.Should().Be(2);

        release.Set();
        await slow.WaitAsync(TimeSpan.FromSeconds(10));
        heartbeat.OnTimer();
        calls.Should().Be(2);
        maxRunning.Should().Be(1);
    }

    [Fact]
    public void It_ticks_on_the_time_provider_with_the_provider_s_time()
    {
        var time = new FakeTimeProvider();
        var seen = new List<long>();
        using var heartbeat = new Heartbeat(time, seen.Add);
        heartbeat.Start();
        time.Advance(TimeSpan.FromMilliseconds(999));
        seen.Should().BeEmpty();
        time.Advance(TimeSpan.FromMilliseconds(1));
        seen.Should().Equal(1000);
        time.Advance(TimeSpan.FromSeconds(1));
        seen.Should().Equal(1000, 2000);
        heartbeat.Now.Should().Be(2000);
    }
}
