using Hyperion;
using Hyperion.Internal.Transport.Loops;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Native;

/// <summary>
/// Work posted to a loop from other threads (an async handler's response, a TLS record, a resumed read) wakes the
/// loop through one flag and an eventfd. A post that lands just after the loop consumed a wake-up must wake it again,
/// and the flag must not stay set: stuck, every later post skips its signal and waits for the loop's 1 s tick. (The
/// epoll loop once cleared the flag before draining the eventfd, so such a post's signal was drained away.)
/// </summary>
public abstract class LoopWakeTests : TransportTests
{
    [Fact]
    public async Task A_post_right_after_a_wake_up_was_consumed_still_wakes_the_loop_and_leaves_the_flag_clear()
    {
        TransportLoop? loop = null;
        await using var ts = await StartAsync(
            s => s.Handle("GET", "/loop", _ =>
            {
                loop = TransportLoop.Current;
                return RackResponse.Text(200, "ok");
            }),
            o => o.LoopCount = 1);
        using var client = ts.CreateHttpClient();
        (await client.GetStringAsync("/loop")).Should().Be("ok");
        var target = loop ?? throw new InvalidOperationException("the route runs inline on the loop thread");

        int ran = 0, hooked = 0;
        Action<object?> count = _ => Interlocked.Increment(ref ran);
        TransportLoop.WakeConsumedHook = l =>
        {
            // Once, on this test's loop: another thread posts in the window between consuming a wake-up and the
            // loop's next wait (the loop thread waits for that post to be queued).
            if (l == target && Interlocked.Exchange(ref hooked, 1) == 0)
            {
                Task.Run(() => target.Post(count, null)).Wait();
            }
        };
        try
        {
            target.Post(count, null);
            for (int i = 0; i < 500 && Volatile.Read(ref ran) < 2; i++)
            {
                await Task.Delay(10);
            }

            hooked.Should().Be(1, "the first post woke the loop, which consumed the wake-up");
            Volatile.Read(ref ran).Should().Be(2, "both posts run (a lost wake-up would only delay the second to the next tick)");
            for (int i = 0; i < 300 && target.WakePending; i++)
            {
                await Task.Delay(10);
            }

            target.WakePending.Should().BeFalse("a wake-up flag left set makes every later post wait for the loop's tick");
        }
        finally
        {
            TransportLoop.WakeConsumedHook = null;
        }

        (await client.GetStringAsync("/loop")).Should().Be("ok");
    }
}

/// <summary>The hook is process-wide: the tests that set it do not run beside each other.</summary>
[CollectionDefinition(nameof(LoopWakeHookCollection))]
public sealed class LoopWakeHookCollection;

[Collection(nameof(LoopWakeHookCollection))]
public sealed class LoopWakeTestsOnIoUring : LoopWakeTests
{
    protected override TransportKind Transport => Hyperion.Native.IoUringSupport.IsSupported ? TransportKind.IoUring : TransportKind.Epoll;
}

[Collection(nameof(LoopWakeHookCollection))]
public sealed class LoopWakeTestsOnEpoll : LoopWakeTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
