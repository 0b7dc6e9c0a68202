using System.Net;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Http2;

/// <summary>Graceful stop over HTTP/2 (RFC 9113 §6.8): two-phase GOAWAY, in-flight streams finish, then the connection closes.</summary>
public abstract class Http2ShutdownTests : TransportTests
{
    [Fact]
    public async Task Stop_sends_goaway_twice_around_a_ping_and_lets_the_stream_finish()
    {
        var release = new TaskCompletionSource();
        await using var ts = await StartAsync(s =>
        {
            s.UseHttp2();
            s.HandleStatic("GET", "/static", "ok");
            s.Handle("GET", "/slow", async _ =>
            {
                await release.Task.WaitAsync(TimeSpan.FromSeconds(20));
                return RackResponse.Text(200, "finished");
            });
        });
        await using var c = await H2RawClient.ConnectAsync(ts.Port);
        await c.SendHeadersAsync(1, true, H2.Get("/slow"));
        await c.SendFrameAsync(H2.Ping, 0, 0, new byte[8]);
        await c.ExpectAsync(f => f.Type == H2.Ping && f.Has(H2.Ack), "PING ACK");

        var stop = ts.Server.StopAsync(TimeSpan.FromSeconds(10));
        var first = await c.ExpectGoAwayAsync();
        first.ErrorCode.Should().Be(H2.NoError);
        first.LastStreamId.Should().Be(int.MaxValue);
        var ping = await c.ExpectAsync(f => f.Type == H2.Ping && !f.Has(H2.Ack), "shutdown PING");
        await c.SendFrameAsync(H2.Ping, H2.Ack, 0, ping.Payload);
        var second = await c.ExpectGoAwayAsync();
        second.LastStreamId.Should().Be(1);

        // A stream opened after the final GOAWAY is ignored; the one in flight completes.
        await c.SendHeadersAsync(3, true, H2.Get("/static"));
        release.SetResult();
        var response = await c.ReadResponseAsync(1);
        response.Status.Should().Be(200);
        response.Body.Should().Equal("finished"u8.ToArray());
        (await c.ClosedAsync()).Should().BeTrue();
        c.Received.Should().NotContain(f => f.StreamId == 3);
        await stop;
    }

    [Fact]
    public async Task Stop_without_a_ping_answer_still_closes_after_the_timeout()
    {
        await using var ts = await StartAsync(s =>
        {
            s.UseHttp2(new Http2Options { GoAwayPingTimeout = TimeSpan.FromMilliseconds(200) });
            s.HandleStatic("GET", "/static", "ok");
        });
        await using var c = await H2RawClient.ConnectAsync(ts.Port);
        await c.SendHeadersAsync(1, true, H2.Get("/static"));
        await c.ReadResponseAsync(1);
        var stop = ts.Server.StopAsync(TimeSpan.FromSeconds(10));
        await c.ExpectAsync(f => f.Type == H2.GoAway && f.LastStreamId == 1, "final GOAWAY");
        (await c.ClosedAsync()).Should().BeTrue();
        await stop;
    }

    [Fact]
    public async Task HttpClient_request_in_flight_during_stop_completes()
    {
        var release = new TaskCompletionSource();
        var started = new TaskCompletionSource();
        await using var ts = await StartAsync(s =>
        {
            s.UseHttp2();
            s.Handle("GET", "/slow", async _ =>
            {
                started.TrySetResult();
                await release.Task.WaitAsync(TimeSpan.FromSeconds(20));
                return RackResponse.Text(200, "done");
            });
        });
        using var client = H2cClient.Create(ts.BaseAddress);
        var request = client.GetAsync("/slow");
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var stop = ts.Server.StopAsync(TimeSpan.FromSeconds(10));
        await Task.Delay(100);
        release.SetResult();
        var r = await request;
        r.StatusCode.Should().Be(HttpStatusCode.OK);
        (await r.Content.ReadAsStringAsync()).Should().Be("done");
        await stop;
        ts.Server.ConnectionCount.Should().Be(0);
    }
}

public sealed class Http2ShutdownTestsOnSockets : Http2ShutdownTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class Http2ShutdownTestsOnIoUring : Http2ShutdownTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class Http2ShutdownTestsOnEpoll : Http2ShutdownTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
