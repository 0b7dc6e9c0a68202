using System.Net;
using System.Net.Sockets;
using System.Text;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Http1;

/// <summary>Every limit in HyperionOptions is wired: changing it changes what a client sees.</summary>
public abstract class LimitsAndTimeoutsTests : TransportTests
{
    private Task<TestServer> StartWith(Action<HyperionOptions> options) => StartAsync(
        s =>
        {
            s.HandleStatic("GET", "/", "ok");
            s.Handle("POST", "/echo", async env =>
            {
                var ms = new MemoryStream();
                await env.Body.CopyToAsync(ms);
                return RackResponse.Text(200, ms.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            });
        },
        options);

    private static async Task<int> StatusOfAsync(TestServer ts, string request)
    {
        using var c = await ts.ConnectAsync();
        await c.SendAsync(Encoding.Latin1.GetBytes(request));
        return (await c.ReadResponseAsync()).Status;
    }

    [Fact]
    public async Task MaxRequestLineSize_is_wired()
    {
        await using var ts = await StartWith(o => o.MaxRequestLineSize = 100);
        (await StatusOfAsync(ts, $"GET /{new string('a', 70)} HTTP/1.1\r\nHost: a\r\n\r\n")).Should().Be(404);
        (await StatusOfAsync(ts, $"GET /{new string('a', 120)} HTTP/1.1\r\nHost: a\r\n\r\n")).Should().Be(414);
    }

    [Fact]
    public async Task Default_request_line_limit_admits_just_under_8_KiB()
    {
        await using var ts = await StartWith(_ => { });
        (await StatusOfAsync(ts, $"GET /{new string('a', 8000)} HTTP/1.1\r\nHost: a\r\n\r\n")).Should().Be(404);
        (await StatusOfAsync(ts, $"GET /{new string('a', 8300)} HTTP/1.1\r\nHost: a\r\n\r\n")).Should().Be(414);
    }

    [Fact]
    public async Task MaxRequestHeadersTotalSize_is_wired()
    {
        await using var ts = await StartWith(o => o.MaxRequestHeadersTotalSize = 200);
        (await StatusOfAsync(ts, $"GET / HTTP/1.1\r\nHost: a\r\nX: {new string('b', 100)}\r\n\r\n")).Should().Be(200);
        (await StatusOfAsync(ts, $"GET / HTTP/1.1\r\nHost: a\r\nX: {new string('b', 250)}\r\n\r\n")).Should().Be(431);
    }

    [Fact]
    public async Task MaxRequestHeaderCount_is_wired()
    {
        await using var ts = await StartWith(o => o.MaxRequestHeaderCount = 5);
        string Fields(int n) => string.Concat(Enumerable.Range(0, n).Select(i => $"X-{i}: v\r\n"));
        (await StatusOfAsync(ts, $"GET / HTTP/1.1\r\nHost: a\r\n{Fields(4)}\r\n")).Should().Be(200);
        (await StatusOfAsync(ts, $"GET / HTTP/1.1\r\nHost: a\r\n{Fields(5)}\r\n")).Should().Be(431);
    }

    [Fact]
    public async Task MaxRequestBodySize_is_refused_before_the_body_is_sent()
    {
        await using var ts = await StartWith(o => o.MaxRequestBodySize = 1000);
        (await StatusOfAsync(ts, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n" + new string('x', 1000))).Should().Be(200);

        // With Expect: 100-continue the client waits; it must get 413 and never an invitation to send.
        using var c = await ts.ConnectAsync();
        await c.SendAsync("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\nExpect: 100-continue\r\n\r\n");
        var r = await c.ReadResponseAsync();
        r.Status.Should().Be(413);
        r.Header("Connection").Should().Be("close");
    }

    [Fact]
    public async Task MaxRequestBodySize_applies_to_chunked_bodies_and_null_means_unlimited()
    {
        await using (var ts = await StartWith(o => o.MaxRequestBodySize = 1000))
        {
            (await StatusOfAsync(ts, "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3E9\r\n" + new string('x', 1001) + "\r\n0\r\n\r\n")).Should().Be(413);
        }

        await using (var ts = await StartWith(o => o.MaxRequestBodySize = null))
        {
            using var client = ts.CreateHttpClient();
            var r = await client.PostAsync("/echo", new ByteArrayContent(new byte[40_000_000]));
            (await r.Content.ReadAsStringAsync()).Should().Be("40000000");
        }
    }

    [Fact]
    public async Task RequestHeadersTimeout_answers_408_and_closes()
    {
        var clock = new TestClock();
        await using var ts = await StartWith(o => o.TimeProvider = clock.Time);
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n"); // and then nothing

        // The default 30 s: nothing at 29 s, 408 once the clock passes 30 s.
        clock.Advance(TimeSpan.FromSeconds(29));
        var took = TimeSpan.FromSeconds(29) + await clock.AdvanceUntilAsync(() => ts.Logged("RequestRejected", "RequestHeadersTimeout"));
        took.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(30));
        var r = await c.ReadResponseAsync();
        r.Status.Should().Be(408);
        r.Header("Connection").Should().Be("close");
        (await c.IsClosedByServerAsync()).Should().BeTrue();
    }

    [Fact]
    public async Task RequestHeadersTimeout_is_wired()
    {
        var clock = new TestClock();
        await using var ts = await StartWith(o =>
        {
            o.TimeProvider = clock.Time;
            o.RequestHeadersTimeout = TimeSpan.FromSeconds(3);
        });
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET / HTTP/1.1\r\n");
        var took = await clock.AdvanceUntilAsync(() => ts.Logged("RequestRejected", "RequestHeadersTimeout"));
        took.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(3)).And.BeLessThan(TimeSpan.FromSeconds(30));
        (await c.ReadResponseAsync()).Status.Should().Be(408);
    }

    [Fact]
    public async Task KeepAliveTimeout_closes_an_idle_connection_silently()
    {
        var clock = new TestClock();
        await using var ts = await StartWith(o =>
        {
            o.TimeProvider = clock.Time;
            o.KeepAliveTimeout = TimeSpan.FromSeconds(10);
        });
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        (await c.ReadResponseAsync()).Status.Should().Be(200);
        var took = await clock.AdvanceUntilAsync(() => ts.Logged("KeepAliveTimeout"));
        took.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(10));
        (await c.IsClosedByServerAsync(TimeSpan.FromSeconds(10))).Should().BeTrue();
        c.Leftover.Should().BeEmpty("an idle close sends no response");
    }

    [Fact]
    public async Task Default_keep_alive_keeps_a_connection_idle_for_two_minutes()
    {
        var clock = new TestClock();
        await using var ts = await StartWith(o => o.TimeProvider = clock.Time);
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        (await c.ReadResponseAsync()).Status.Should().Be(200);
        for (int i = 0; i < 12; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(10)); // 120 s of the default 130 s
        }

        await c.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        (await c.ReadResponseAsync()).Status.Should().Be(200);
        ts.Logged("KeepAliveTimeout").Should().BeFalse();
    }

    [Fact]
    public async Task MinRequestBodyDataRate_cuts_off_a_trickling_body()
    {
        var clock = new TestClock();
        await using var ts = await StartWith(o =>
        {
            o.TimeProvider = clock.Time;
            o.MinRequestBodyDataRate = 1000;
            o.MinRequestBodyDataRateGracePeriod = TimeSpan.FromSeconds(2);
        });
        using var c = await ts.ConnectAsync();
        await c.SendAsync("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n");
        await c.SendAsync("xxxxxxxxxx"); // 10 bytes, then nothing: the app waits in its body read

        var took = await clock.AdvanceUntilAsync(() => ts.Logged("RequestRejected", "MinBodyDataRate"));
        took.Should().BeGreaterThan(TimeSpan.FromSeconds(2), "the grace period comes first");
        var r = await c.ReadResponseAsync();
        r.Status.Should().Be(408);
        r.Header("Connection").Should().Be("close");
    }

    [Fact]
    public async Task A_body_at_a_healthy_rate_passes_the_rate_check()
    {
        var clock = new TestClock();
        long read = 0;
        await using var ts = await StartAsync(
            s => s.Handle("POST", "/count", async env =>
            {
                var buffer = new byte[8192];
                int n;
                while ((n = await env.Body.ReadAsync(buffer)) > 0)
                {
                    Interlocked.Add(ref read, n);
                }

                return RackResponse.Text(200, Interlocked.Read(ref read).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }),
            o =>
            {
                o.TimeProvider = clock.Time;
                o.MinRequestBodyDataRate = 1000;
                o.MinRequestBodyDataRateGracePeriod = TimeSpan.FromSeconds(1);
            });
        using var c = await ts.ConnectAsync();
        await c.SendAsync("POST /count HTTP/1.1\r\nHost: a\r\nContent-Length: 40000\r\n\r\n");
        for (int i = 1; i < 10; i++)
        {
            // 4000 B per fake second against a minimum of 1000; the clock moves once the app has them.
            await c.SendAsync(new string('y', 4000));
            await clock.AdvanceUntilAsync(() => Interlocked.Read(ref read) == i * 4000, step: TimeSpan.Zero, what: "the app reading what was sent");
            clock.Advance(TimeSpan.FromSeconds(1));
        }

        await c.SendAsync(new string('y', 4000));
        var r = await c.ReadResponseAsync();
        r.Status.Should().Be(200);
        r.BodyText.Should().Be("40000");
    }

    [Fact]
    public async Task The_body_rate_clock_stops_while_the_app_is_not_reading()
    {
        // The app reads a little, then works for a minute before reading the rest: the client sent everything at
        // once, so a minute at 10 B against a minimum of 1000 B/s must not be blamed on it.
        var clock = new TestClock();
        var firstRead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartAsync(
            s => s.Handle("POST", "/slow-app", async env =>
            {
                var buffer = new byte[10];
                int total = await env.Body.ReadAsync(buffer);
                firstRead.TrySetResult();
                await resume.Task;
                int n;
                while ((n = await env.Body.ReadAsync(buffer)) > 0)
                {
                    total += n;
                }

                return RackResponse.Text(200, total.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }),
            o =>
            {
                o.TimeProvider = clock.Time;
                o.MinRequestBodyDataRate = 1000;
                o.MinRequestBodyDataRateGracePeriod = TimeSpan.FromSeconds(1);
            });
        using var c = await ts.ConnectAsync();
        await c.SendAsync("POST /slow-app HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + new string('z', 100));
        await firstRead.Task.WaitAsync(TimeSpan.FromSeconds(10));
        for (int i = 0; i < 60; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
        }

        resume.SetResult();
        var r = await c.ReadResponseAsync();
        r.Status.Should().Be(200);
        r.BodyText.Should().Be("100");
        ts.Logged("RequestRejected", "MinBodyDataRate").Should().BeFalse();
    }

    [Fact]
    public async Task MaxConcurrentConnections_refuses_with_503_and_recovers()
    {
        await using var ts = await StartWith(o => o.MaxConcurrentConnections = 2);
        using var a = await ts.ConnectAsync();
        using var b = await ts.ConnectAsync();
        await a.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        (await a.ReadResponseAsync()).Status.Should().Be(200);
        await b.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        (await b.ReadResponseAsync()).Status.Should().Be(200);

        using (var third = await ts.ConnectAsync())
        {
            var r = await third.ReadResponseAsync();
            r.Status.Should().Be(503);
            (await third.IsClosedByServerAsync()).Should().BeTrue();
        }

        a.Dispose();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (ts.Server.ConnectionCount > 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        using var fourth = await ts.ConnectAsync();
        await fourth.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        (await fourth.ReadResponseAsync()).Status.Should().Be(200);
    }

    [Fact]
    public async Task ServerHeader_is_configurable_and_can_be_omitted()
    {
        await using (var ts = await StartWith(o => o.ServerHeader = "Custom/1.0"))
        {
            using var c = await ts.ConnectAsync();
            await c.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            (await c.ReadResponseAsync()).Header("Server").Should().Be("Custom/1.0");
        }

        await using (var ts = await StartWith(o => o.ServerHeader = null))
        {
            using var c = await ts.ConnectAsync();
            await c.SendAsync("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
            (await c.ReadResponseAsync()).Header("Server").Should().BeNull();
        }
    }

    [Fact]
    public void Invalid_option_values_are_refused_at_construction()
    {
        var bad = new Action[]
        {
            () => _ = new HyperionServer(new HyperionOptions { MaxRequestLineSize = 0 }),
            () => _ = new HyperionServer(new HyperionOptions { MaxRequestHeaderCount = -1 }),
            () => _ = new HyperionServer(new HyperionOptions { MaxRequestBodySize = -5 }),
            () => _ = new HyperionServer(new HyperionOptions { KeepAliveTimeout = TimeSpan.Zero }),
            () => _ = new HyperionServer(new HyperionOptions { MaxConcurrentConnections = 0 }),
            () => _ = new HyperionServer(new HyperionOptions { IoUringBufferCount = 3 }),
            () => _ = new HyperionServer(new HyperionOptions { ServerHeader = "a\r\nb" }),
        };
        foreach (var create in bad)
        {
            create.Should().Throw<ArgumentException>();
        }
    }
}

public sealed class LimitsAndTimeoutsTestsOnSockets : LimitsAndTimeoutsTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class LimitsAndTimeoutsTestsOnIoUring : LimitsAndTimeoutsTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class LimitsAndTimeoutsTestsOnEpoll : LimitsAndTimeoutsTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
