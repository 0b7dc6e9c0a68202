using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Http2;

/// <summary><see cref="Http2Options.SettingsAckTimeout"/>: RFC 9113 §6.5.3, our SETTINGS must be acknowledged in time.</summary>
public class Http2SettingsAckTimeoutTests
{
    private const uint SettingsTimeout = 4;

    private static Task<TestServer> StartAsync(TimeSpan timeout, TestClock clock)
        => TestServer.StartAsync(
            s =>
            {
                s.UseHttp2(new Http2Options { SettingsAckTimeout = timeout });
                s.HandleStatic("GET", "/static", "ok");
            },
            o => o.TimeProvider = clock.Time);

    [Fact]
    public async Task A_client_that_never_acknowledges_gets_goaway_settings_timeout()
    {
        var clock = new TestClock();
        await using var ts = await StartAsync(TimeSpan.FromSeconds(10), clock);
        await using var c = await H2RawClient.ConnectAsync(ts.Port);
        c.AckSettings = false;

        // It still talks (requests are served meanwhile), it just never ACKs.
        await c.SendHeadersAsync(1, true, H2.Get());
        (await c.ReadResponseAsync(1)).Status.Should().Be(200);
        var goAwayTask = c.ExpectGoAwayAsync();
        var took = await clock.AdvanceUntilAsync(() => goAwayTask.IsCompleted, what: "the GOAWAY");
        took.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(10));
        var goAway = await goAwayTask;
        goAway.ErrorCode.Should().Be(SettingsTimeout, "got {0}", goAway);
        goAway.LastStreamId.Should().Be(1);
        (await c.ClosedAsync()).Should().BeTrue();
    }

    [Fact]
    public async Task A_late_acknowledgement_within_the_timeout_keeps_the_connection()
    {
        var clock = new TestClock();
        var timeout = TimeSpan.FromSeconds(10);
        await using var ts = await StartAsync(timeout, clock);
        await using var c = await H2RawClient.ConnectAsync(ts.Port);
        c.AckSettings = false;
        await c.ExpectAsync(f => f.Type == H2.Settings && !f.Has(H2.Ack), "server SETTINGS");
        clock.Advance(TimeSpan.FromSeconds(9));
        await c.SendFrameAsync(H2.Settings, H2.Ack, 0, default);

        // Once the server has the ACK (a request after it is answered), a minute more changes nothing.
        await c.SendHeadersAsync(1, true, H2.Get());
        (await c.ReadResponseAsync(1)).Status.Should().Be(200);
        clock.Advance(TimeSpan.FromSeconds(60));
        await c.SendHeadersAsync(3, true, H2.Get());
        (await c.ReadResponseAsync(3)).Status.Should().Be(200);
        c.Received.Should().NotContain(f => f.Type == H2.GoAway);
    }

    [Fact]
    public void The_default_is_ten_seconds() => new Http2Options().SettingsAckTimeout.Should().Be(TimeSpan.FromSeconds(10));
}
