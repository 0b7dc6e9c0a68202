using System.Net;
using System.Text;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Http2;

/// <summary>
/// Keepalive both ways: <see cref="Http2Options.KeepAlivePingDelay"/> / <see cref="Http2Options.KeepAlivePingTimeout"/>
/// (our PINGs, on the server's fake clock) and grpc's ping policy (<see cref="Http2Options.MinPingIntervalWithoutData"/>,
/// <see cref="Http2Options.MaxPingStrikes"/>) for the client's PINGs, with HttpClient as the ordinary client it must not hurt.
/// </summary>
public abstract class Http2KeepAliveTests : TransportTests
{
    private static readonly byte[] ClientPing = "client!!"u8.ToArray();

    private Task<TestServer> StartH2Async(Action<Http2Options>? h2 = null, TestClock? clock = null, Action<HyperionOptions>? options = null)
        => StartAsync(
            s =>
            {
                var o = new Http2Options();
                h2?.Invoke(o);
                s.UseHttp2(o);
                s.HandleStatic("GET", "/static", "ok");
                s.Handle("GET", "/big", _ => RackResponse.Bytes(200, new byte[16 * 1024 * 1024]));
                s.Handle("POST", "/echo", async env =>
                {
                    var ms = new MemoryStream();
                    await env.Body.CopyToAsync(ms);
                    return RackResponse.Bytes(200, ms.ToArray());
                });
            },
            o =>
            {
                if (clock is not null)
                {
                    o.TimeProvider = clock.Time;
                }

                options?.Invoke(o);
            });

    private static async Task<H2RawClient> ConnectAsync(TestServer ts)
    {
        var c = await H2RawClient.ConnectAsync(ts.Port);
        await c.ExpectAsync(f => f.Type == H2.Settings && !f.Has(H2.Ack), "server SETTINGS");
        await c.ExpectAsync(f => f.Type == H2.Settings && f.Has(H2.Ack), "SETTINGS ACK");
        return c;
    }

    private static Task<H2Frame> ExpectServerPingAsync(H2RawClient c)
        => c.ExpectAsync(f => (f.Type == H2.Ping && !f.Has(H2.Ack)) || f.Type == H2.GoAway, "keepalive PING");

    private static async Task PingAndExpectAckAsync(H2RawClient c)
    {
        await c.SendFrameAsync(H2.Ping, 0, 0, ClientPing);
        var ack = await c.ExpectAsync(f => (f.Type == H2.Ping && f.Has(H2.Ack)) || f.Type == H2.GoAway, "PING ACK");
        ack.Type.Should().Be(H2.Ping, "got {0}", ack);
        ack.Payload.Should().Equal(ClientPing);
    }

    private static string DebugData(H2Frame goAway) => Encoding.ASCII.GetString(goAway.Payload.AsSpan(8));

    // ---- our keepalive PINGs ----

    [Fact]
    public async Task The_server_pings_once_nothing_has_arrived_for_the_delay()
    {
        var clock = new TestClock();
        await using var ts = await StartH2Async(o => o.KeepAlivePingDelay = TimeSpan.FromSeconds(10), clock);
        await using var c = await ConnectAsync(ts);

        var ping = ExpectServerPingAsync(c);
        clock.Advance(TimeSpan.FromSeconds(9));
        (await TestClock.SettlesAsync(() => ping.IsCompleted)).Should().BeFalse("9 s of silence is under the delay");
        await clock.AdvanceUntilAsync(() => ping.IsCompleted, what: "the keepalive PING");
        clock.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(10));
        var frame = await ping;
        frame.Type.Should().Be(H2.Ping, "got {0}", frame);
        frame.StreamId.Should().Be(0);
        frame.Payload.Should().HaveCount(8);
    }

    [Fact]
    public async Task Traffic_postpones_the_ping()
    {
        var clock = new TestClock();
        await using var ts = await StartH2Async(o => o.KeepAlivePingDelay = TimeSpan.FromSeconds(10), clock);
        await using var c = await ConnectAsync(ts);

        // A request every 6 s: the connection is never silent for 10 s, so no PING in a minute.
        for (int id = 1; id <= 19; id += 2)
        {
            clock.Advance(TimeSpan.FromSeconds(6));
            await c.SendHeadersAsync(id, true, H2.Get());
            (await c.ReadResponseAsync(id)).Status.Should().Be(200);
        }

        c.Received.Should().NotContain(f => f.Type == H2.Ping && !f.Has(H2.Ack));
        var ping = ExpectServerPingAsync(c);
        var took = await clock.AdvanceUntilAsync(() => ping.IsCompleted, what: "the keepalive PING");
        took.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(4), "the delay counts from the last request (6 s ago)");
        (await ping).Type.Should().Be(H2.Ping);
    }

    [Fact]
    public async Task A_missing_ack_closes_the_connection_with_goaway_internal_error()
    {
        var clock = new TestClock();
        await using var ts = await StartH2Async(
            o =>
            {
                o.KeepAlivePingDelay = TimeSpan.FromSeconds(10);
                o.KeepAlivePingTimeout = TimeSpan.FromSeconds(5);
            },
            clock);
        await using var c = await ConnectAsync(ts);
        await c.SendHeadersAsync(1, true, H2.Get());
        (await c.ReadResponseAsync(1)).Status.Should().Be(200);
        await PingAndExpectAckAsync(c);

        // The client goes silent: it neither acks the PING nor sends anything else. The PING cannot leave before
        // 10 s nor the close come before 5 s after it, so 15 s of fake time is a floor however slowly the machine runs.
        var goAway = c.ExpectGoAwayAsync();
        clock.Advance(TimeSpan.FromSeconds(9));
        await clock.AdvanceUntilAsync(() => goAway.IsCompleted, what: "the GOAWAY");
        clock.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(15)).And.BeLessThan(TimeSpan.FromSeconds(60));
        var frame = await goAway;
        frame.ErrorCode.Should().Be(H2.InternalError, "got {0}", frame);
        frame.LastStreamId.Should().Be(1);
        c.Received.Should().Contain(f => f.Type == H2.Ping && !f.Has(H2.Ack));
        (await c.ClosedAsync()).Should().BeTrue();
        ts.Logged("ProtocolError", "KeepAlivePingTimeout").Should().BeTrue();
    }

    [Fact]
    public async Task Acknowledged_pings_keep_the_connection_for_as_long_as_it_is_busy()
    {
        var clock = new TestClock();
        await using var ts = await StartH2Async(
            o =>
            {
                o.KeepAlivePingDelay = TimeSpan.FromSeconds(10);
                o.KeepAlivePingTimeout = TimeSpan.FromSeconds(5);
            },
            clock);
        await using var c = await ConnectAsync(ts);

        // Six PINGs over more than a minute, each answered: delay + timeout passes many times, nothing closes.
        for (int round = 0; round < 6; round++)
        {
            var ping = ExpectServerPingAsync(c);
            clock.Advance(TimeSpan.FromSeconds(9));
            await clock.AdvanceUntilAsync(() => ping.IsCompleted, what: $"keepalive PING {round + 1}");
            var frame = await ping;
            frame.Type.Should().Be(H2.Ping, "got {0}", frame);
            await c.SendFrameAsync(H2.Ping, H2.Ack, 0, frame.Payload);

            // A request behind the ACK: once it is answered the server has read the ACK.
            int id = 2 * round + 1;
            await c.SendHeadersAsync(id, true, H2.Get());
            (await c.ReadResponseAsync(id)).Status.Should().Be(200);
        }

        clock.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(60));
        c.Received.Should().NotContain(f => f.Type == H2.GoAway);
        c.Received.Count(f => f.Type == H2.Ping && !f.Has(H2.Ack)).Should().Be(6);
    }

    [Fact]
    public async Task Answering_our_pings_does_not_hold_an_idle_connection_open()
    {
        var clock = new TestClock();
        await using var ts = await StartH2Async(
            o =>
            {
                o.KeepAlivePingDelay = TimeSpan.FromSeconds(5);
                o.KeepAlivePingTimeout = TimeSpan.FromSeconds(60);
            },
            clock,
            o => o.KeepAliveTimeout = TimeSpan.FromSeconds(30));
        await using var c = await ConnectAsync(ts);

        // The client only answers PINGs: the connection is still idle, so KeepAliveTimeout closes it gracefully.
        int pings = 0;
        H2Frame frame;
        while (true)
        {
            var next = c.ExpectAsync(f => (f.Type == H2.Ping && !f.Has(H2.Ack)) || f.Type == H2.GoAway, "PING or GOAWAY");
            await clock.AdvanceUntilAsync(() => next.IsCompleted, step: TimeSpan.FromSeconds(5), what: "a PING or the GOAWAY");
            frame = await next;
            if (frame.Type == H2.GoAway)
            {
                break;
            }

            pings++;
            await c.SendFrameAsync(H2.Ping, H2.Ack, 0, frame.Payload);
        }

        frame.ErrorCode.Should().Be(H2.NoError, "got {0}", frame);
        clock.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(30)).And.BeLessThan(TimeSpan.FromSeconds(60));

        // Each PING after the first needs the previous ACK read (the delay re-arms only on receipt).
        pings.Should().BeGreaterThanOrEqualTo(4);
        ts.Logged("KeepAliveTimeout").Should().BeTrue();
    }

    [Fact]
    public async Task By_default_the_server_sends_no_keepalive_pings()
    {
        var clock = new TestClock();
        await using var ts = await StartH2Async(null, clock);
        await using var c = await ConnectAsync(ts);

        // A PING round trip first: once it is answered the server has read everything the client sent (frames are
        // handled in order), so the idle clock runs from here.
        await PingAndExpectAckAsync(c);

        // Past the default KeepAliveTimeout (130 s) only the idle GOAWAY arrives.
        var goAway = c.ExpectGoAwayAsync();
        clock.Advance(TimeSpan.FromSeconds(125));
        await clock.AdvanceUntilAsync(() => goAway.IsCompleted, what: "the idle GOAWAY");
        (await goAway).ErrorCode.Should().Be(H2.NoError);
        c.Received.Should().NotContain(f => f.Type == H2.Ping && !f.Has(H2.Ack));
    }

    // ---- the client's PINGs: grpc's ping policy ----

    [Fact]
    public async Task Pings_without_data_strike_and_the_third_strike_gets_too_many_pings()
    {
        await using var ts = await StartH2Async();
        await using var c = await ConnectAsync(ts);

        // Defaults: 10 s, 2 strikes. The first PING sets the clock; the next two are strikes and are answered.
        for (int i = 0; i < 3; i++)
        {
            await PingAndExpectAckAsync(c);
        }

        await c.SendFrameAsync(H2.Ping, 0, 0, ClientPing);
        var goAway = await c.ExpectGoAwayAsync();
        goAway.ErrorCode.Should().Be(H2.EnhanceYourCalm, "got {0}", goAway);
        DebugData(goAway).Should().Be("too_many_pings");
        (await c.ClosedAsync()).Should().BeTrue();
        ts.Logged("ProtocolError", "PINGs").Should().BeTrue();
    }

    [Fact]
    public async Task Pings_spaced_by_the_interval_never_strike()
    {
        var clock = new TestClock();
        await using var ts = await StartH2Async(o => o.MaxPingStrikes = 0, clock);
        await using var c = await ConnectAsync(ts);
        for (int i = 0; i < 8; i++)
        {
            await PingAndExpectAckAsync(c);
            clock.Advance(TimeSpan.FromSeconds(10));
        }

        c.Received.Should().NotContain(f => f.Type == H2.GoAway);
    }

    [Fact]
    public async Task Max_ping_strikes_zero_closes_on_the_first_early_ping()
    {
        var clock = new TestClock();
        await using var ts = await StartH2Async(o => o.MaxPingStrikes = 0, clock);
        await using var c = await ConnectAsync(ts);
        await PingAndExpectAckAsync(c);
        clock.Advance(TimeSpan.FromSeconds(9));
        await c.SendFrameAsync(H2.Ping, 0, 0, ClientPing);
        var goAway = await c.ExpectGoAwayAsync();
        goAway.ErrorCode.Should().Be(H2.EnhanceYourCalm, "got {0}", goAway);
        DebugData(goAway).Should().Be("too_many_pings");
    }

    [Fact]
    public async Task A_zero_interval_turns_the_policy_off()
    {
        await using var ts = await StartH2Async(o => o.MinPingIntervalWithoutData = TimeSpan.Zero);
        await using var c = await ConnectAsync(ts);
        for (int i = 0; i < 20; i++)
        {
            await PingAndExpectAckAsync(c);
        }

        c.Received.Should().NotContain(f => f.Type == H2.GoAway);
    }

    [Fact]
    public async Task A_ping_burst_is_still_the_flood_limit_s_business()
    {
        // With the policy off, MaxControlFramesPerSecond alone decides; its GOAWAY carries no too_many_pings.
        await using var ts = await StartH2Async(o =>
        {
            o.MinPingIntervalWithoutData = TimeSpan.Zero;
            o.MaxControlFramesPerSecond = 50;
        });
        await using var c = await ConnectAsync(ts);
        await c.SendAsync([.. Enumerable.Range(0, 100).Select(_ => H2.Frame(H2.Ping, 0, 0, ClientPing))]);
        var goAway = await c.ExpectGoAwayAsync();
        goAway.ErrorCode.Should().Be(H2.EnhanceYourCalm, "got {0}", goAway);
        DebugData(goAway).Should().BeEmpty();
    }

    [Fact]
    public async Task Pings_between_responses_never_strike()
    {
        // The strictest policy: any PING within an hour of the last one, with nothing between, closes at once.
        await using var ts = await StartH2Async(o =>
        {
            o.MinPingIntervalWithoutData = TimeSpan.FromHours(1);
            o.MaxPingStrikes = 0;
        });
        await using var c = await ConnectAsync(ts);
        for (int id = 1; id <= 39; id += 2)
        {
            await c.SendHeadersAsync(id, true, H2.Get());
            (await c.ReadResponseAsync(id)).Status.Should().Be(200);
            await PingAndExpectAckAsync(c);
        }

        c.Received.Should().NotContain(f => f.Type == H2.GoAway);
    }

    [Fact]
    public async Task Pings_between_request_body_frames_never_strike()
    {
        await using var ts = await StartH2Async(o =>
        {
            o.MinPingIntervalWithoutData = TimeSpan.FromHours(1);
            o.MaxPingStrikes = 0;
        });
        await using var c = await ConnectAsync(ts);

        // While the client uploads, the server sends nothing on the stream: the client's DATA is the activity.
        await c.SendHeadersAsync(1, false, H2.Post("/echo"));
        for (int i = 0; i < 10; i++)
        {
            await c.SendFrameAsync(H2.Data, 0, 1, new byte[100]);
            await PingAndExpectAckAsync(c);
        }

        await c.SendFrameAsync(H2.Data, H2.EndStream, 1, new byte[100]);
        var response = await c.ReadResponseAsync(1);
        response.Body.Should().HaveCount(1100);
        c.Received.Should().NotContain(f => f.Type == H2.GoAway);
    }

    [Fact]
    public async Task Strikes_clear_when_data_moves()
    {
        await using var ts = await StartH2Async(o => o.MaxPingStrikes = 1);
        await using var c = await ConnectAsync(ts);

        // Baseline + one strike, a response, then baseline + one strike again: never two strikes in a row.
        for (int id = 1; id <= 9; id += 2)
        {
            await PingAndExpectAckAsync(c);
            await PingAndExpectAckAsync(c);
            await c.SendHeadersAsync(id, true, H2.Get());
            (await c.ReadResponseAsync(id)).Status.Should().Be(200);
        }

        c.Received.Should().NotContain(f => f.Type == H2.GoAway);
    }

    // ---- HttpClient, the ordinary client ----

    public static TheoryData<string> Policies() => new() { "defaults", "strictest" };

    [Theory]
    [MemberData(nameof(Policies))]
    public async Task HttpClient_downloads_and_many_calls_never_trip_the_policy(string policy)
    {
        await using var ts = await StartH2Async(o =>
        {
            if (policy == "strictest")
            {
                o.MinPingIntervalWithoutData = TimeSpan.FromHours(1);
                o.MaxPingStrikes = 0;
            }
        });
        await using var relay = H2PingCountingRelay.Start(ts.Port);
        using var client = CreateClient(relay);

        // A 16 MiB download: SocketsHttpHandler probes RTT with PINGs while DATA arrives (dynamic window sizing).
        (await client.GetByteArrayAsync("/big")).Should().HaveCount(16 * 1024 * 1024);

        // Then many small calls, four at a time.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            for (int i = 0; i < 50; i++)
            {
                (await client.GetStringAsync("/static")).Should().Be("ok");
            }
        }));

        relay.ClientPings.Should().BeGreaterThan(0, "HttpClient sent RTT PINGs, so the policy was exercised");
        relay.Connections.Should().Be(1, "no GOAWAY made HttpClient open a second connection");
        relay.ServerPings.Should().Be(0, "keepalive is off by default");
        ts.Logged("ProtocolError").Should().BeFalse();
    }

    [Fact]
    public async Task HttpClient_answers_our_pings_and_keeps_its_connection()
    {
        var clock = new TestClock();
        await using var ts = await StartH2Async(
            o =>
            {
                o.KeepAlivePingDelay = TimeSpan.FromSeconds(10);
                o.KeepAlivePingTimeout = TimeSpan.FromSeconds(5);
            },
            clock);
        await using var relay = H2PingCountingRelay.Start(ts.Port);
        using var client = CreateClient(relay);
        (await client.GetStringAsync("/static")).Should().Be("ok");

        for (int round = 1; round <= 4; round++)
        {
            // The next PING can only leave once the server has read something since the last one (the ACK).
            await clock.AdvanceUntilAsync(() => relay.ServerPings >= round, what: $"keepalive PING {round}");
            await clock.AdvanceUntilAsync(() => relay.ClientPingAcks >= round, step: TimeSpan.Zero, what: $"HttpClient's ACK {round}");

            // A request behind the ACK on the same connection: answered, so the server has read the ACK.
            (await client.GetStringAsync("/static")).Should().Be("ok");
        }

        clock.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(40));
        relay.Connections.Should().Be(1, "no keepalive timeout closed HttpClient's connection");
        ts.Logged("ProtocolError").Should().BeFalse();
    }

    private static HttpClient CreateClient(H2PingCountingRelay relay) => new(new SocketsHttpHandler { UseProxy = false })
    {
        BaseAddress = relay.BaseAddress,
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(15),
    };

    // ---- options ----

    [Fact]
    public void Defaults_are_off_20_s_10_s_and_2()
    {
        var o = new Http2Options();
        o.KeepAlivePingDelay.Should().Be(Timeout.InfiniteTimeSpan);
        o.KeepAlivePingTimeout.Should().Be(TimeSpan.FromSeconds(20));
        o.MinPingIntervalWithoutData.Should().Be(TimeSpan.FromSeconds(10));
        o.MaxPingStrikes.Should().Be(2);
    }

    public static TheoryData<string, Action<Http2Options>> Invalid() => new()
    {
        { "delay under 1 s", o => o.KeepAlivePingDelay = TimeSpan.FromMilliseconds(500) },
        { "zero delay", o => o.KeepAlivePingDelay = TimeSpan.Zero },
        { "timeout under 1 s", o => o.KeepAlivePingTimeout = TimeSpan.FromMilliseconds(10) },
        { "negative interval", o => o.MinPingIntervalWithoutData = TimeSpan.FromSeconds(-1) },
        { "negative strikes", o => o.MaxPingStrikes = -1 },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Invalid_values_are_refused_by_UseHttp2(string what, Action<Http2Options> set)
    {
        var o = new Http2Options();
        set(o);
        var server = new HyperionServer(new HyperionOptions { Port = 0 });
        server.Invoking(s => s.UseHttp2(o)).Should().Throw<ArgumentOutOfRangeException>(what);
    }
}

public sealed class Http2KeepAliveTestsOnSockets : Http2KeepAliveTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class Http2KeepAliveTestsOnIoUring : Http2KeepAliveTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class Http2KeepAliveTestsOnEpoll : Http2KeepAliveTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
