using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Api;

/// <summary>Hooks and graceful stop.</summary>
public abstract class LifecycleTests : TransportTests
{
    [Fact]
    public async Task Hooks_see_every_request_kind_and_a_throwing_hook_breaks_nothing()
    {
        var events = new List<string>();
        await using var ts = await StartAsync(s =>
        {
            s.HandleStatic("GET", "/static", "s");
            s.Handle("GET", "/dynamic", env => RackResponse.Text(200, "d"));
            s.Handle("GET", "/boom", RackResponse (env) => throw new InvalidOperationException("app failed"));
            s.Run(env => ValueTask.FromResult(RackResponse.Text(200, "a")));
            s.OnRequestStart(env =>
            {
                lock (events)
                {
                    events.Add("start " + env.Path);
                }
            });
            s.OnRequestStart(env => throw new InvalidOperationException("bad hook"));
            s.OnRequestEnd((env, response, error) =>
            {
                lock (events)
                {
                    events.Add($"end {env.Path} {response?.Status.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"} {error?.Message ?? "-"}");
                }
            });
            s.OnRequestEnd((env, response, error) => throw new InvalidOperationException("bad end hook"));
        });
        using var client = ts.CreateHttpClient();
        (await client.GetStringAsync("/static")).Should().Be("s");
        (await client.GetStringAsync("/dynamic")).Should().Be("d");
        (await client.GetStringAsync("/other")).Should().Be("a");
        (await client.GetAsync("/boom")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        events.Should().Equal(
            "start /static", "end /static 200 -",
            "start /dynamic", "end /dynamic 200 -",
            "start /other", "end /other 200 -",
            "start /boom", "end /boom none app failed");
        ts.Logs.Lines.Count(l => l.EventId.Name == "HookError").Should().Be(8);
    }

    [Fact]
    public async Task Stop_wakes_a_parked_accept_and_returns_promptly()
    {
        var server = new HyperionServer(new HyperionOptions { Port = 0, Transport = Transport });
        await server.StartAsync();
        var port = server.Port;
        await Task.Delay(100);
        var sw = Stopwatch.StartNew();
        await server.StopAsync(TimeSpan.FromSeconds(5));
        sw.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(3));

        // The port is closed: nothing accepts any more.
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var connect = async () => await probe.ConnectAsync(IPAddress.Loopback, port);
        await connect.Should().ThrowAsync<SocketException>();
    }

    [Fact]
    public async Task Stop_finishes_in_flight_requests_closes_idle_ones_and_is_idempotent()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ts = await StartAsync(s =>
        {
            s.HandleStatic("GET", "/fast", "fast");
            s.Handle("GET", "/slow", async env =>
            {
                entered.TrySetResult();
                await release.Task;
                return RackResponse.Text(200, "slow done");
            });
        });

        using var idle = await ts.ConnectAsync();
        await idle.SendAsync("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
        (await idle.ReadResponseAsync()).Status.Should().Be(200);

        using var busy = await ts.ConnectAsync();
        await busy.SendAsync("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var stop = ts.Server.StopAsync(TimeSpan.FromSeconds(10));
        ts.Server.StopAsync(TimeSpan.FromSeconds(10)).Should().BeSameAs(stop);

        // The idle keep-alive connection is closed at once; the busy one is still being served.
        (await idle.IsClosedByServerAsync(TimeSpan.FromSeconds(5))).Should().BeTrue();
        stop.IsCompleted.Should().BeFalse();

        release.SetResult();
        var r = await busy.ReadResponseAsync();
        r.BodyText.Should().Be("slow done");
        r.Header("Connection").Should().Be("close");
        await stop.WaitAsync(TimeSpan.FromSeconds(10));
        await ts.DisposeAsync();
    }

    [Fact]
    public async Task Stop_force_closes_requests_that_outlive_the_timeout()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ts = await StartAsync(s => s.Handle("GET", "/hang", async env =>
        {
            entered.TrySetResult();
            await Task.Delay(Timeout.Infinite);
            return RackResponse.Empty(204);
        }));
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n");
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var sw = Stopwatch.StartNew();
        await ts.Server.StopAsync(TimeSpan.FromMilliseconds(500));
        sw.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5));
        (await c.IsClosedByServerAsync(TimeSpan.FromSeconds(5))).Should().BeTrue();
        ts.Server.ConnectionCount.Should().Be(0);
        await ts.DisposeAsync();
    }

    [Fact]
    public async Task RunAsync_returns_after_cancellation_with_a_graceful_drain()
    {
        var server = new HyperionServer(new HyperionOptions { Port = 0, ShutdownTimeout = TimeSpan.FromSeconds(2), Transport = Transport });
        server.HandleStatic("GET", "/", "ok");
        using var cts = new CancellationTokenSource();
        var run = server.RunAsync(cts.Token);
        await Task.Delay(200);
        using (var c = await RawConnection.ConnectAsync(server.Port))
        {
            await c.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            (await c.ReadResponseAsync()).BodyText.Should().Be("ok");
        }

        cts.Cancel();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }
}

public sealed class LifecycleTestsOnSockets : LifecycleTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class LifecycleTestsOnIoUring : LifecycleTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class LifecycleTestsOnEpoll : LifecycleTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
