using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Http1;

/// <summary>
/// <see cref="HyperionOptions.MinResponseDataRate"/>: a client that does not read its response loses its connection,
/// on the server's clock, while everyone else is served; time the app spends producing a response does not count.
/// </summary>
public abstract class MinResponseDataRateTests : TransportTests
{
    private const int BigSize = 32 * 1024 * 1024; // far more than both sockets' buffers hold
    private const double Rate = 1024 * 1024;

    private static readonly byte[] Big = new byte[BigSize];

    private Task<TestServer> StartWith(TestClock clock, Action<HyperionServer>? routes = null, Action<HyperionOptions>? options = null, TaskCompletionSource? blocked = null) => StartAsync(
        s =>
        {
            s.HandleStatic("GET", "/", "ok");
            s.Handle("GET", "/big", _ => RackResponse.Bytes(200, Big, "application/octet-stream"));
            s.Handle("GET", "/stream", _ => RackResponse.Streaming(200, [("content-length", BigSize.ToString(System.Globalization.CultureInfo.InvariantCulture))], async w =>
            {
                var chunk = new byte[64 * 1024];
                for (int sent = 0; sent < BigSize; sent += chunk.Length)
                {
                    var write = w.WriteAsync(chunk); // flushes by itself past a threshold
                    if (!write.IsCompleted)
                    {
                        blocked?.TrySetResult(); // from here the write waits on the client
                    }

                    await write;
                    var flush = w.FlushAsync();
                    if (!flush.IsCompleted)
                    {
                        blocked?.TrySetResult();
                    }

                    await flush;
                }
            }));
            routes?.Invoke(s);
        },
        o =>
        {
            o.TimeProvider = clock.Time;
            o.MinResponseDataRate = Rate;
            o.MinResponseDataRateGracePeriod = TimeSpan.FromSeconds(5);
            options?.Invoke(o);
        });

    [Fact]
    public async Task A_client_that_never_reads_is_closed_and_a_normal_client_is_not()
    {
        var clock = new TestClock();
        var blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartWith(clock, blocked: blocked);
        using var normal = await ts.ConnectAsync();
        using var stuck = await RawConnection.ConnectAsync(ts.Port, receiveBufferSize: 4096);
        await stuck.SendAsync("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n"); // and never reads
        await blocked.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // Every fake step, the normal client on the same server is answered on its keep-alive connection.
        int served = 0;
        while (!ts.Logged("MinResponseDataRate"))
        {
            // Written before the clock moved: at most 32 MiB at 1 MiB/s after the 5 s grace.
            clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5 + (BigSize / Rate) + 10), "the rule should have closed the stuck client by now");
            clock.Advance(TimeSpan.FromSeconds(1));
            await TestClock.SettlesAsync(() => ts.Logged("MinResponseDataRate"));
            await normal.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            (await normal.ReadResponseAsync()).Status.Should().Be(200);
            served++;
        }

        clock.Elapsed.Should().BeGreaterThan(TimeSpan.FromSeconds(5), "every write has the grace period");
        (await stuck.IsClosedByServerAsync(TimeSpan.FromSeconds(10))).Should().BeTrue();
        served.Should().BeGreaterThan(5);
        await normal.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        (await normal.ReadResponseAsync()).Status.Should().Be(200);
        ts.Logs.Lines.Count(l => l.EventId.Name == "MinResponseDataRate").Should().Be(1);
    }

    [Fact]
    public async Task A_large_buffered_response_gets_time_in_proportion_to_its_size()
    {
        // One 32 MiB write: allowed 5 s + 32 s, whenever the flush starts waiting; not closed a moment before.
        var clock = new TestClock();
        await using var ts = await StartWith(clock);
        using var stuck = await RawConnection.ConnectAsync(ts.Port, receiveBufferSize: 4096);
        await stuck.SendAsync("GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
        var took = await clock.AdvanceUntilAsync(() => ts.Logged("MinResponseDataRate"), limit: TimeSpan.FromMinutes(30), what: "the MinResponseDataRate close");
        took.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(5 + (BigSize / Rate)));
        (await stuck.IsClosedByServerAsync(TimeSpan.FromSeconds(10))).Should().BeTrue();
    }

    [Fact]
    public async Task A_client_that_reads_slowly_but_above_the_rate_gets_the_whole_response()
    {
        // 64 KiB/s minimum; the client reads 128 KiB per fake second. 32 MiB takes 256 s of fake time, well past the
        // grace period, and is allowed 5 s + 512 s: the whole body must arrive.
        var clock = new TestClock();
        await using var ts = await StartWith(clock, options: o => o.MinResponseDataRate = 64 * 1024);
        using var c = await RawConnection.ConnectAsync(ts.Port, receiveBufferSize: 64 * 1024);
        await c.SendAsync("GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
        var buffer = new byte[64 * 1024];
        long received = 0;
        long nextTick = 128 * 1024;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (received < BigSize)
        {
            int n = await c.Socket.ReceiveAsync(buffer, System.Net.Sockets.SocketFlags.None, cts.Token);
            n.Should().BePositive("the server must not close a client reading above the minimum rate");
            received += n;
            while (received >= nextTick)
            {
                clock.Advance(TimeSpan.FromSeconds(1));
                nextTick += 128 * 1024;
            }
        }

        clock.Elapsed.Should().BeGreaterThan(TimeSpan.FromSeconds(200));
        ts.Logged("MinResponseDataRate").Should().BeFalse();
    }

    [Fact]
    public async Task Null_turns_the_rule_off()
    {
        var clock = new TestClock();
        var blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartWith(clock, options: o => o.MinResponseDataRate = null, blocked: blocked);
        using var stuck = await RawConnection.ConnectAsync(ts.Port, receiveBufferSize: 4096);
        await stuck.SendAsync("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n");
        await blocked.Task.WaitAsync(TimeSpan.FromSeconds(30));
        using var normal = await ts.ConnectAsync();
        for (int i = 0; i < 60; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(2)); // 120 s: three times what a 1 MiB/s rule would allow
        }

        await normal.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        (await normal.ReadResponseAsync()).Status.Should().Be(200);
        ts.Logged("MinResponseDataRate").Should().BeFalse();
        ts.Server.ConnectionCount.Should().Be(2);
    }

    [Fact]
    public async Task A_slow_app_is_not_blamed_on_the_client()
    {
        var clock = new TestClock();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartWith(clock, s => s.Handle("GET", "/slow", async _ =>
        {
            entered.TrySetResult();
            await release.Task;
            return RackResponse.Text(200, "done");
        }));
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        for (int i = 0; i < 60; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1)); // a minute of app time: no write is waiting on the client
        }

        release.SetResult();
        (await c.ReadResponseAsync()).BodyText.Should().Be("done");
        ts.Logged("MinResponseDataRate").Should().BeFalse();
    }

    [Fact]
    public void The_default_is_240_bytes_per_second_after_5_seconds()
    {
        var o = new HyperionOptions();
        o.MinResponseDataRate.Should().Be(240);
        o.MinResponseDataRateGracePeriod.Should().Be(TimeSpan.FromSeconds(5));
        var act = () => new HyperionServer(new HyperionOptions { MinResponseDataRate = 0 });
        act.Should().Throw<ArgumentOutOfRangeException>();
    }
}

public sealed class MinResponseDataRateTestsOnSockets : MinResponseDataRateTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class MinResponseDataRateTestsOnIoUring : MinResponseDataRateTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class MinResponseDataRateTestsOnEpoll : MinResponseDataRateTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
