using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Timeouts;

/// <summary>
/// The heartbeat only marks deadlines: what a timeout sets off (the connection's close, the app's failed body read and
/// whatever the app does next) runs on the connection's own thread, so one app cannot hold up everyone's timeouts.
/// </summary>
public abstract class TimeoutThreadTests : TransportTests
{
    [ThreadStatic]
    private static bool t_inHeartbeat;

    /// <summary>Moves the clock; the fake clock runs the heartbeat inside this call, on this thread.</summary>
    private static void AdvanceMarked(TestClock clock, TimeSpan by)
    {
        t_inHeartbeat = true;
        try
        {
            clock.Advance(by);
        }
        finally
        {
            t_inHeartbeat = false;
        }
    }

    [Fact]
    public async Task The_app_s_continuation_after_a_body_rate_timeout_never_runs_on_the_heartbeat()
    {
        var clock = new TestClock();
        var failed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartAsync(
            s => s.Handle("POST", "/read", async env =>
            {
                try
                {
                    var buffer = new byte[1024];
                    while (await env.Body.ReadAsync(buffer) > 0)
                    {
                    }
                }
                catch (Exception)
                {
                    failed.TrySetResult(t_inHeartbeat);
                    throw;
                }

                return RackResponse.Text(200, "read");
            }),
            o =>
            {
                o.TimeProvider = clock.Time;
                o.MinRequestBodyDataRate = 1000;
                o.MinRequestBodyDataRateGracePeriod = TimeSpan.FromSeconds(1);
            });
        using var c = await ts.ConnectAsync();
        await c.SendAsync("POST /read HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\nxx");
        for (int i = 0; i < 600 && !failed.Task.IsCompleted; i++)
        {
            AdvanceMarked(clock, TimeSpan.FromSeconds(1));
            await Task.WhenAny(failed.Task, Task.Delay(20));
        }

        (await failed.Task.WaitAsync(TimeSpan.FromSeconds(10))).Should().BeFalse("the app's code ran inside the heartbeat");
        (await c.ReadResponseAsync()).Status.Should().Be(408);
    }

    [Fact]
    public async Task Keep_alive_closes_are_carried_out_off_the_heartbeat_for_many_connections_at_once()
    {
        var clock = new TestClock();
        await using var ts = await StartAsync(s => s.HandleStatic("GET", "/", "ok"), o =>
        {
            o.TimeProvider = clock.Time;
            o.KeepAliveTimeout = TimeSpan.FromSeconds(5);
        });
        var clients = new List<RawConnection>();
        for (int i = 0; i < 20; i++)
        {
            var c = await ts.ConnectAsync();
            await c.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            (await c.ReadResponseAsync()).Status.Should().Be(200);
            clients.Add(c);
        }

        var took = await clock.AdvanceUntilAsync(() => ts.Logs.Lines.Count(l => l.EventId.Name == "KeepAliveTimeout") == 20);
        took.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(5));
        foreach (var c in clients)
        {
            (await c.IsClosedByServerAsync()).Should().BeTrue();
            c.Dispose();
        }
    }
}

public sealed class TimeoutThreadTestsOnSockets : TimeoutThreadTests
{
    protected override TransportKind Transport => TransportKind.Sockets;

    /// <summary>
    /// On sockets every connection has its own thread-pool work: an app blocked after its timeout holds only its own
    /// connection, and another connection's request-headers timeout still fires. (On a loop transport a blocking
    /// handler holds its loop by design; the heartbeat itself is never held, see the test above.)
    /// </summary>
    [Fact]
    public async Task An_app_that_blocks_after_its_timeout_does_not_delay_another_connection_s_timeout()
    {
        var clock = new TestClock();
        using var release = new ManualResetEventSlim();
        var blocking = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartAsync(
            s => s.Handle("POST", "/block", async env =>
            {
                try
                {
                    var buffer = new byte[1024];
                    while (await env.Body.ReadAsync(buffer) > 0)
                    {
                    }
                }
                catch (Exception)
                {
                    blocking.TrySetResult();
                    release.Wait(TimeSpan.FromSeconds(30)); // a synchronous wait in the app, after its body read failed
                    throw;
                }

                return RackResponse.Text(200, "read");
            }),
            o =>
            {
                o.TimeProvider = clock.Time;
                o.MinRequestBodyDataRate = 1000;
                o.MinRequestBodyDataRateGracePeriod = TimeSpan.FromSeconds(1);
                o.RequestHeadersTimeout = TimeSpan.FromSeconds(20);
            });
        using var a = await ts.ConnectAsync();
        await a.SendAsync("POST /block HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\nxx");
        await clock.AdvanceUntilAsync(() => blocking.Task.IsCompleted, what: "the app blocking");

        using var b = await ts.ConnectAsync();
        await b.SendAsync("GET / HTTP/1.1\r\n");
        var took = await clock.AdvanceUntilAsync(() => ts.Logged("RequestRejected", "RequestHeadersTimeout"), what: "the other connection's timeout");
        took.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(20));
        (await b.ReadResponseAsync()).Status.Should().Be(408);
        release.IsSet.Should().BeFalse("the first app is still blocked");
        release.Set();
    }
}

public sealed class TimeoutThreadTestsOnIoUring : TimeoutThreadTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class TimeoutThreadTestsOnEpoll : TimeoutThreadTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
