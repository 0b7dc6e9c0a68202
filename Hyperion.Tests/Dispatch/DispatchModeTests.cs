using System.Net;
using Hyperion;
using Hyperion.Http2;
using Hyperion.Internal.Dispatch;
using Hyperion.Internal.Transport.Loops;
using Hyperion.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Hyperion.Tests.Dispatch;

/// <summary>
/// Dispatch modes and the loop watchdog (issue 11, item 5), on every transport, over HTTP/1.1 and h2c. The clock is
/// fake: a route "holds" its thread by moving the clock, so what the watchdog decides never depends on timing.
/// </summary>
public abstract class DispatchModeTests : TransportTests
{
    /// <summary>Where a request ran: inline (and on a loop thread) or not.</summary>
    private static string Where() => (RequestDispatcher.InInlineCall ? "inline" : "pool") + (TransportLoop.IsLoopThread ? "+loop" : string.Empty);

    private bool IsLoopTransport => Transport is TransportKind.IoUring or TransportKind.Epoll && (Transport != TransportKind.IoUring || Hyperion.Native.IoUringSupport.IsSupported);

    private string InlineWhere => IsLoopTransport ? "inline+loop" : "inline";

    protected async Task Modes_per_route_app_and_default_decide_where_the_delegate_runs(bool http2)
    {
        await using var ts = await StartAsync(s =>
        {
            if (http2)
            {
                s.UseHttp2();
            }

            s.Handle("GET", "/inline", _ => RackResponse.Text(200, Where()));
            s.Handle("GET", "/pool", _ => RackResponse.Text(200, Where()), DispatchMode.ThreadPool);
            s.Handle("GET", "/pool-async", _ => new ValueTask<RackResponse>(RackResponse.Text(200, Where())), DispatchMode.ThreadPool);
            s.Handle("GET", "/legacy-pool", new WhereHandler(), DispatchMode.ThreadPool);
            s.Run(_ => new ValueTask<RackResponse>(RackResponse.Text(200, Where())), DispatchMode.ThreadPool);
        }, o => o.TimeProvider = new FakeTimeProvider()); // a still clock: a slow first call on a loaded machine moves nothing
        using var client = Client(ts, http2);
        (await client.GetStringAsync("/inline")).Should().Be(InlineWhere);
        (await client.GetStringAsync("/pool")).Should().Be("pool");
        (await client.GetStringAsync("/pool-async")).Should().Be("pool");
        (await client.GetStringAsync("/legacy-pool")).Should().Be("pool");
        (await client.GetStringAsync("/anything-else")).Should().Be("pool");
        ts.Logs.Lines.Should().NotContain(l => l.EventId.Name == "LoopStall");
    }

    protected async Task The_server_default_applies_and_a_route_can_opt_back_in_to_inline()
    {
        await using var ts = await StartAsync(s =>
        {
            s.Handle("GET", "/default", _ => RackResponse.Text(200, Where()));
            s.Handle("GET", "/inline", _ => RackResponse.Text(200, Where()), DispatchMode.Inline);
            s.Use(next => env => next(env));
        }, o =>
        {
            o.DefaultDispatch = DispatchMode.ThreadPool;
            o.TimeProvider = new FakeTimeProvider(); // a still clock: a slow first call on a loaded machine moves nothing
        });
        using var client = ts.CreateHttpClient();
        (await client.GetStringAsync("/default")).Should().Be("pool");
        (await client.GetStringAsync("/inline")).Should().Be(InlineWhere);
    }

    protected async Task A_route_that_holds_its_thread_is_warned_once_and_moved_to_the_pool(bool http2)
    {
        var clock = new FakeTimeProvider();
        await using var ts = await StartAsync(s =>
        {
            if (http2)
            {
                s.UseHttp2();
            }

            s.Handle("GET", "/slow", _ =>
            {
                string where = Where();
                clock.Advance(TimeSpan.FromMilliseconds(80)); // as if it had blocked 80 ms
                return RackResponse.Text(200, where);
            });
            s.Handle("GET", "/fast", _ => RackResponse.Text(200, Where()));
        }, o => o.TimeProvider = clock);
        using var client = Client(ts, http2);
        (await client.GetStringAsync("/slow")).Should().Be(InlineWhere);
        ts.Logs.Lines.Should().NotContain(l => l.EventId.Name == "LoopStall", "a first call may take ten thresholds (JIT, first-use setup)");
        (await client.GetStringAsync("/slow")).Should().Be(InlineWhere);
        (await client.GetStringAsync("/slow")).Should().Be("pool");
        (await client.GetStringAsync("/slow")).Should().Be("pool");
        (await client.GetStringAsync("/fast")).Should().Be(InlineWhere, "only the route that blocked moves");

        ts.Logs.Lines.Where(l => l.EventId.Name == "LoopStall").Should().ContainSingle()
            .Which.Message.Should().StartWith("GET /slow held ").And.Contain("for 80 ms").And.Contain("LoopStallThreshold 50 ms");
        ts.Logs.Lines.Where(l => l.EventId.Name == "RouteOffloaded").Should().ContainSingle()
            .Which.Message.Should().StartWith("GET /slow now runs on the thread pool");
    }

    /// <summary>Loop transports only: a streaming body's callback is timed where it would freeze a loop.</summary>
    protected async Task A_streaming_body_that_holds_the_loop_is_blamed_on_its_route_and_moves_it_to_the_pool(bool http2)
    {
        var clock = new FakeTimeProvider();
        await using var ts = await StartAsync(s =>
        {
            if (http2)
            {
                s.UseHttp2();
            }

            // The route itself returns at once; its body callback is what blocks (as a gRPC handler does).
            s.Handle("GET", "/stream", _ => RackResponse.Streaming(200, [("content-type", "text/plain")], async writer =>
            {
                string where = TransportLoop.IsLoopThread ? "loop" : "pool";
                clock.Advance(TimeSpan.FromMilliseconds(80)); // as if it had blocked 80 ms
                await writer.WriteAsync(where);
            }));
        }, o => o.TimeProvider = clock);
        using var client = Client(ts, http2);
        (await client.GetStringAsync("/stream")).Should().Be("loop");
        ts.Logs.Lines.Should().NotContain(l => l.EventId.Name == "LoopStall", "a body's first call may take ten thresholds");
        (await client.GetStringAsync("/stream")).Should().Be("loop");
        (await client.GetStringAsync("/stream")).Should().Be("pool", "the route, body included, now runs on the pool");
        ts.Logs.Lines.Where(l => l.EventId.Name == "LoopStall").Should().ContainSingle()
            .Which.Message.Should().StartWith("GET /stream held ").And.Contain("for 80 ms");
        ts.Logs.Lines.Where(l => l.EventId.Name == "RouteOffloaded").Should().ContainSingle();
    }

    protected async Task Without_automatic_offload_the_route_is_warned_once_and_stays_inline()
    {
        var clock = new FakeTimeProvider();
        await using var ts = await StartAsync(s => s.Handle("GET", "/slow", _ =>
        {
            string where = Where();
            clock.Advance(TimeSpan.FromMilliseconds(80));
            return RackResponse.Text(200, where);
        }), o =>
        {
            o.TimeProvider = clock;
            o.OffloadBlockingRoutes = false;
        });
        using var client = ts.CreateHttpClient();
        for (int i = 0; i < 3; i++)
        {
            (await client.GetStringAsync("/slow")).Should().Be(InlineWhere);
        }

        ts.Logs.Lines.Should().ContainSingle(l => l.EventId.Name == "LoopStall");
        ts.Logs.Lines.Should().NotContain(l => l.EventId.Name == "RouteOffloaded");
    }

    protected async Task A_threshold_of_null_turns_the_watchdog_off_and_a_larger_one_is_obeyed()
    {
        var clock = new FakeTimeProvider();
        await using var ts = await StartAsync(s => s.Handle("GET", "/slow", _ =>
        {
            string where = Where();
            clock.Advance(TimeSpan.FromMilliseconds(150));
            return RackResponse.Text(200, where);
        }), o =>
        {
            o.TimeProvider = clock;
            o.LoopStallThreshold = TimeSpan.FromMilliseconds(200);
        });
        using var client = ts.CreateHttpClient();
        (await client.GetStringAsync("/slow")).Should().Be(InlineWhere);
        (await client.GetStringAsync("/slow")).Should().Be(InlineWhere, "150 ms is under a 200 ms threshold");
        ts.Logs.Lines.Should().NotContain(l => l.EventId.Name == "LoopStall");

        await using var off = await StartAsync(s => s.Handle("GET", "/slow", _ =>
        {
            clock.Advance(TimeSpan.FromSeconds(5));
            return RackResponse.Text(200, Where());
        }), o =>
        {
            o.TimeProvider = clock;
            o.LoopStallThreshold = null;
        });
        using var offClient = off.CreateHttpClient();
        (await offClient.GetStringAsync("/slow")).Should().Be(InlineWhere);
        (await offClient.GetStringAsync("/slow")).Should().Be(InlineWhere);
        off.Logs.Lines.Should().NotContain(l => l.EventId.Name == "LoopStall" || l.EventId.Name == "RouteOffloaded");
    }

    protected async Task Blocking_middleware_is_blamed_on_the_route_it_wraps_the_app_or_the_unmatched_chain()
    {
        var clock = new FakeTimeProvider();
        await using var ts = await StartAsync(s =>
        {
            s.Use(next => env =>
            {
                if (env.Headers.Get("x-block") is not null)
                {
                    clock.Advance(TimeSpan.FromMilliseconds(60));
                }

                return next(env);
            });
            s.Handle("GET", "/route", _ => RackResponse.Text(200, Where()));
        }, o => o.TimeProvider = clock);
        using var client = ts.CreateHttpClient();
        (await client.GetStringAsync("/route")).Should().Be(InlineWhere);
        (await client.GetAsync("/missing")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        var blocking = new HttpRequestMessage(HttpMethod.Get, "/route");
        blocking.Headers.Add("x-block", "1");
        (await (await client.SendAsync(blocking)).Content.ReadAsStringAsync()).Should().Be(InlineWhere, "middleware runs where its route runs");
        (await client.GetStringAsync("/route")).Should().Be("pool");
        var missing = new HttpRequestMessage(HttpMethod.Get, "/missing");
        missing.Headers.Add("x-block", "1");
        (await client.SendAsync(missing)).StatusCode.Should().Be(HttpStatusCode.NotFound);

        var stalls = ts.Logs.Lines.Where(l => l.EventId.Name == "LoopStall").Select(l => l.Message).ToArray();
        stalls.Should().HaveCount(2);
        stalls[0].Should().StartWith("GET /route held ");
        stalls[1].Should().StartWith("the middleware (request matching no route) held ");
    }

    protected async Task The_monitor_reports_a_loop_stuck_in_a_route_while_it_still_blocks()
    {
        var clock = new FakeTimeProvider();
        using var entered = new SemaphoreSlim(0);
        using var release = new ManualResetEventSlim();
        await using var ts = await StartAsync(s => s.Handle("GET", "/stuck", env =>
        {
            string where = Where();
            entered.Release();
            release.Wait(TimeSpan.FromSeconds(10));
            return RackResponse.Text(200, where);
        }), o =>
        {
            o.TimeProvider = clock;
            o.LoopCount = 1;
        });
        using var client = ts.CreateHttpClient();
        var first = client.GetStringAsync("/stuck");
        try
        {
            (await entered.WaitAsync(TimeSpan.FromSeconds(10))).Should().BeTrue();

            // The monitor ticks on the server's clock: past the first call's allowance (10 x 50 ms) it sees the loop
            // still inside the route.
            clock.Advance(TimeSpan.FromMilliseconds(600));
            first.IsCompleted.Should().BeFalse();
            var stall = ts.Logs.Lines.Should().ContainSingle(l => l.EventId.Name == "LoopStall").Subject;
            stall.Level.Should().Be(Microsoft.Extensions.Logging.LogLevel.Warning);
            stall.Message.Should().StartWith("GET /stuck held loop thread hyperion-").And.Contain(" ms and is still running");
            ts.Logs.Lines.Should().ContainSingle(l => l.EventId.Name == "RouteOffloaded");
        }
        finally
        {
            // Never leave the loop blocked: a failed assertion above must not turn into a hung shutdown.
            release.Set();
        }

        (await first).Should().Be("inline+loop");
        (await client.GetStringAsync("/stuck")).Should().Be("pool");
        ts.Logs.Lines.Should().ContainSingle(l => l.EventId.Name == "LoopStall", "the return of the reported call adds no second line");
    }

    /// <summary>
    /// Time its thread spent waiting for a CPU (or a GC) is not the route's: a fast route preempted on a busy machine
    /// stays inline, and a slow one is charged only what it held. Before this, one preempted call on a loaded bench
    /// machine moved a gRPC route to the pool for good (about 750 B and a thread hop more per call).
    /// </summary>
    protected async Task Time_the_thread_waited_for_a_CPU_is_not_held_against_the_route(bool http2)
    {
        var clock = new FakeTimeProvider();
        var wait = new FakeCpuWait();
        await using var ts = await StartAsync(s =>
        {
            if (http2)
            {
                s.UseHttp2();
            }

            s.Handle("GET", "/preempted", _ =>
            {
                string where = Where();
                wait.Add(75);                                 // 75 ms off the CPU (first: the monitor ticks as the clock moves)
                clock.Advance(TimeSpan.FromMilliseconds(80)); // of 80 on the wall clock
                return RackResponse.Text(200, where);
            });
            s.Handle("GET", "/slow", _ =>
            {
                string where = Where();
                wait.Add(20);
                clock.Advance(TimeSpan.FromMilliseconds(80));
                return RackResponse.Text(200, where);
            });
        }, o => o.TimeProvider = clock);
        ts.Server.Watchdog.CpuWait = wait;
        using var client = Client(ts, http2);
        (await client.GetStringAsync("/slow")).Should().Be(InlineWhere); // the first call's allowance
        for (int i = 0; i < 4; i++)
        {
            (await client.GetStringAsync("/preempted")).Should().Be(InlineWhere, "5 ms held of 80 is not a stall");
        }

        ts.Logs.Lines.Should().NotContain(l => l.EventId.Name == "LoopStall" || l.EventId.Name == "RouteOffloaded");
        (await client.GetStringAsync("/slow")).Should().Be(InlineWhere);
        (await client.GetStringAsync("/slow")).Should().Be("pool", "60 ms held is over the 50 ms threshold");
        ts.Logs.Lines.Where(l => l.EventId.Name == "LoopStall").Should().ContainSingle()
            .Which.Message.Should().StartWith("GET /slow held ").And.Contain(" for 60 ms").And.Contain(", not counting 20 ms it waited for a CPU or a GC");
        ts.Logs.Lines.Where(l => l.EventId.Name == "RouteOffloaded").Should().ContainSingle()
            .Which.Message.Should().StartWith("GET /slow now runs on the thread pool");
    }

    /// <summary>The monitor too: a loop kept off its CPU inside a call is not reported until the call itself holds it past the limit.</summary>
    protected async Task The_monitor_does_not_report_a_loop_that_waits_for_a_CPU()
    {
        var clock = new FakeTimeProvider();
        var wait = new FakeCpuWait();
        using var entered = new SemaphoreSlim(0);
        using var release = new ManualResetEventSlim();
        await using var ts = await StartAsync(s => s.Handle("GET", "/stuck", env =>
        {
            string where = Where();
            entered.Release();
            release.Wait(TimeSpan.FromSeconds(10));
            return RackResponse.Text(200, where);
        }), o =>
        {
            o.TimeProvider = clock;
            o.LoopCount = 1;
        });
        ts.Server.Watchdog.CpuWait = wait;
        using var client = ts.CreateHttpClient();
        var first = client.GetStringAsync("/stuck");
        try
        {
            (await entered.WaitAsync(TimeSpan.FromSeconds(10))).Should().BeTrue();
            wait.Add(600);
            clock.Advance(TimeSpan.FromMilliseconds(600)); // past the first call's 500 ms, all of it off the CPU
            first.IsCompleted.Should().BeFalse();
            ts.Logs.Lines.Should().NotContain(l => l.EventId.Name == "LoopStall");

            clock.Advance(TimeSpan.FromMilliseconds(600)); // now held 600 ms of its own
            ts.Logs.Lines.Should().ContainSingle(l => l.EventId.Name == "LoopStall").Which.Message
                .Should().StartWith("GET /stuck held loop thread hyperion-").And.Contain(" ms and is still running, not counting 600 ms it waited");
            ts.Logs.Lines.Should().ContainSingle(l => l.EventId.Name == "RouteOffloaded");
        }
        finally
        {
            release.Set();
        }

        (await first).Should().Be("inline+loop");
    }

    private static HttpClient Client(TestServer ts, bool http2)
    {
        var client = ts.CreateHttpClient();
        if (http2)
        {
            client.DefaultRequestVersion = HttpVersion.Version20;
            client.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }

        return client;
    }

    private sealed class WhereHandler : IRequestHandler
    {
        public ValueTask<RackResponse> HandleAsync(Request request) => new(RackResponse.Text(200, Where()));
    }
}

public sealed class DispatchModeTestsOnIoUring : DispatchModeTests
{
    protected override TransportKind Transport => IoUringOrFallback;

    [RequiresIoUringFact] public Task Streaming_body_http1() => A_streaming_body_that_holds_the_loop_is_blamed_on_its_route_and_moves_it_to_the_pool(http2: false);

    [RequiresIoUringFact] public Task Streaming_body_h2c() => A_streaming_body_that_holds_the_loop_is_blamed_on_its_route_and_moves_it_to_the_pool(http2: true);

    [RequiresIoUringFact] public Task Modes_http1() => Modes_per_route_app_and_default_decide_where_the_delegate_runs(http2: false);

    [RequiresIoUringFact] public Task Modes_h2c() => Modes_per_route_app_and_default_decide_where_the_delegate_runs(http2: true);

    [RequiresIoUringFact] public Task Default_mode() => The_server_default_applies_and_a_route_can_opt_back_in_to_inline();

    [RequiresIoUringFact] public Task Offload_http1() => A_route_that_holds_its_thread_is_warned_once_and_moved_to_the_pool(http2: false);

    [RequiresIoUringFact] public Task Offload_h2c() => A_route_that_holds_its_thread_is_warned_once_and_moved_to_the_pool(http2: true);

    [RequiresIoUringFact] public Task No_offload() => Without_automatic_offload_the_route_is_warned_once_and_stays_inline();

    [RequiresIoUringFact] public Task Threshold() => A_threshold_of_null_turns_the_watchdog_off_and_a_larger_one_is_obeyed();

    [RequiresIoUringFact] public Task Middleware_blame() => Blocking_middleware_is_blamed_on_the_route_it_wraps_the_app_or_the_unmatched_chain();

    [RequiresIoUringFact] public Task Monitor() => The_monitor_reports_a_loop_stuck_in_a_route_while_it_still_blocks();

    [RequiresIoUringFact] public Task Cpu_wait_http1() => Time_the_thread_waited_for_a_CPU_is_not_held_against_the_route(http2: false);

    [RequiresIoUringFact] public Task Cpu_wait_h2c() => Time_the_thread_waited_for_a_CPU_is_not_held_against_the_route(http2: true);

    [RequiresIoUringFact] public Task Monitor_cpu_wait() => The_monitor_does_not_report_a_loop_that_waits_for_a_CPU();
}

public sealed class DispatchModeTestsOnEpoll : DispatchModeTests
{
    protected override TransportKind Transport => TransportKind.Epoll;

    [Fact] public Task Streaming_body_http1() => A_streaming_body_that_holds_the_loop_is_blamed_on_its_route_and_moves_it_to_the_pool(http2: false);

    [Fact] public Task Streaming_body_h2c() => A_streaming_body_that_holds_the_loop_is_blamed_on_its_route_and_moves_it_to_the_pool(http2: true);

    [Fact] public Task Modes_http1() => Modes_per_route_app_and_default_decide_where_the_delegate_runs(http2: false);

    [Fact] public Task Modes_h2c() => Modes_per_route_app_and_default_decide_where_the_delegate_runs(http2: true);

    [Fact] public Task Default_mode() => The_server_default_applies_and_a_route_can_opt_back_in_to_inline();

    [Fact] public Task Offload_http1() => A_route_that_holds_its_thread_is_warned_once_and_moved_to_the_pool(http2: false);

    [Fact] public Task Offload_h2c() => A_route_that_holds_its_thread_is_warned_once_and_moved_to_the_pool(http2: true);

    [Fact] public Task No_offload() => Without_automatic_offload_the_route_is_warned_once_and_stays_inline();

    [Fact] public Task Threshold() => A_threshold_of_null_turns_the_watchdog_off_and_a_larger_one_is_obeyed();

    [Fact] public Task Middleware_blame() => Blocking_middleware_is_blamed_on_the_route_it_wraps_the_app_or_the_unmatched_chain();

    [Fact] public Task Monitor() => The_monitor_reports_a_loop_stuck_in_a_route_while_it_still_blocks();

    [Fact] public Task Cpu_wait_http1() => Time_the_thread_waited_for_a_CPU_is_not_held_against_the_route(http2: false);

    [Fact] public Task Cpu_wait_h2c() => Time_the_thread_waited_for_a_CPU_is_not_held_against_the_route(http2: true);

    [Fact] public Task Monitor_cpu_wait() => The_monitor_does_not_report_a_loop_that_waits_for_a_CPU();
}

public sealed class DispatchModeTestsOnSockets : DispatchModeTests
{
    protected override TransportKind Transport => TransportKind.Sockets;

    [Fact] public Task Modes_http1() => Modes_per_route_app_and_default_decide_where_the_delegate_runs(http2: false);

    [Fact] public Task Modes_h2c() => Modes_per_route_app_and_default_decide_where_the_delegate_runs(http2: true);

    [Fact] public Task Default_mode() => The_server_default_applies_and_a_route_can_opt_back_in_to_inline();

    [Fact] public Task Offload_http1() => A_route_that_holds_its_thread_is_warned_once_and_moved_to_the_pool(http2: false);

    [Fact] public Task Offload_h2c() => A_route_that_holds_its_thread_is_warned_once_and_moved_to_the_pool(http2: true);

    [Fact] public Task No_offload() => Without_automatic_offload_the_route_is_warned_once_and_stays_inline();

    [Fact] public Task Threshold() => A_threshold_of_null_turns_the_watchdog_off_and_a_larger_one_is_obeyed();

    [Fact] public Task Middleware_blame() => Blocking_middleware_is_blamed_on_the_route_it_wraps_the_app_or_the_unmatched_chain();

    [Fact] public Task Cpu_wait_http1() => Time_the_thread_waited_for_a_CPU_is_not_held_against_the_route(http2: false);

    [Fact] public Task Cpu_wait_h2c() => Time_the_thread_waited_for_a_CPU_is_not_held_against_the_route(http2: true);
}
