using System.Buffers.Binary;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Http2;

/// <summary>
/// HTTP/1.1's request limits on HTTP/2 streams (MaxRequestHeadersTotalSize, MaxRequestHeaderCount, MaxRequestLineSize,
/// RequestHeadersTimeout), the HTTP/2-only field rules with their logged reason, and our own RST_STREAMs drawing on
/// the rapid-reset budget.
/// </summary>
public abstract class Http2RequestLimitsTests : TransportTests
{
    private Task<TestServer> StartH2Async(Action<Http2Options>? h2 = null, Action<HyperionOptions>? options = null)
        => StartAsync(s =>
        {
            var o = new Http2Options();
            h2?.Invoke(o);
            s.UseHttp2(o);
            s.HandleStatic("GET", "/static", "ok");
            s.Handle("GET", "/hold", _ => RackResponse.Streaming(200, null, async w => await Task.Delay(Timeout.Infinite, w.Aborted)));
            s.Handle("POST", "/echo", async env =>
            {
                var ms = new MemoryStream();
                await env.Body.CopyToAsync(ms);
                return RackResponse.Bytes(200, ms.ToArray());
            });
        }, options);

    private static async Task<(H2RawClient Client, H2Frame Settings)> ConnectAsync(TestServer ts)
    {
        var c = await H2RawClient.ConnectAsync(ts.Port);
        var settings = await c.ExpectAsync(f => f.Type == H2.Settings && !f.Has(H2.Ack), "server SETTINGS");
        return (c, settings);
    }

    private static byte[] Malformed(int id) => H2.Frame(H2.Headers, H2.EndHeaders | H2.EndStream, id, H2.Block(H2.Get("/static", ("X-Upper", "1"))));

    private static async Task ExpectEnhanceYourCalmAsync(H2RawClient c)
    {
        var goAway = await c.ExpectGoAwayAsync();
        goAway.ErrorCode.Should().Be(H2.EnhanceYourCalm, "got {0}", goAway);
        (await c.ClosedAsync()).Should().BeTrue();
    }

    private static string? LastReason(TestServer ts)
        => ts.Logs.Lines.LastOrDefault(l => l.EventId.Name == "RequestRejected")?.Message;

    [Fact]
    public async Task Malformed_streams_we_reset_draw_on_the_rapid_reset_budget()
    {
        await using var ts = await StartH2Async(o => o.MaxStreamResetsPerWindow = 10);
        var (c, _) = await ConnectAsync(ts);
        await using var _c = c;
        await c.SendAsync([.. Enumerable.Range(0, 11).Select(i => Malformed(1 + (2 * i)))]);
        await ExpectEnhanceYourCalmAsync(c);
        c.Received.Count(f => f.Type == H2.RstStream && f.ErrorCode == H2.ProtocolError).Should().Be(10, "each malformed stream is reset until the budget is spent");
    }

    [Fact]
    public async Task Malformed_streams_within_the_budget_leave_the_connection_serving()
    {
        await using var ts = await StartH2Async(o => o.MaxStreamResetsPerWindow = 10);
        var (c, _) = await ConnectAsync(ts);
        await using var _c = c;
        await c.SendAsync([.. Enumerable.Range(0, 10).Select(i => Malformed(1 + (2 * i)))]);
        await c.SendHeadersAsync(21, true, H2.Get());
        (await c.ReadResponseAsync(21)).Status.Should().Be(200);
        c.Received.Should().NotContain(f => f.Type == H2.GoAway);
    }

    [Fact]
    public async Task Refused_streams_and_client_resets_share_one_budget()
    {
        // One stream held open fills MaxConcurrentStreams; every further HEADERS is refused (RFC 9113 §5.1.2).
        await using var ts = await StartH2Async(o => { o.MaxStreamResetsPerWindow = 6; o.MaxConcurrentStreams = 1; });
        var (c, _) = await ConnectAsync(ts);
        await using var _c = c;
        await c.SendHeadersAsync(1, true, H2.Get("/hold"));
        await c.ExpectAsync(f => f.Type == H2.Headers && f.StreamId == 1, "response headers");

        // Three client resets (of streams 3, 5, 7 we refuse) plus their three refusals: six; the next refusal is one too many.
        var frames = new List<byte[]>();
        for (int id = 3; id <= 7; id += 2)
        {
            frames.Add(H2.Frame(H2.Headers, H2.EndHeaders | H2.EndStream, id, H2.Block(H2.Get())));
            frames.Add(H2.Frame(H2.RstStream, 0, id, H2.U32(H2.Cancel)));
        }

        await c.SendAsync([.. frames]);
        await c.ExpectRstAsync(7);
        c.Received.Should().NotContain(f => f.Type == H2.GoAway, "six resets are within the budget");
        await c.SendHeadersAsync(9, true, H2.Get());
        await ExpectEnhanceYourCalmAsync(c);
        c.Received.Count(f => f.Type == H2.RstStream && f.ErrorCode == H2.RefusedStream).Should().Be(3);
    }

    [Fact]
    public async Task MaxRequestHeadersTotalSize_bounds_the_advertised_and_enforced_header_list()
    {
        await using var ts = await StartH2Async(options: o => o.MaxRequestHeadersTotalSize = 4096);
        var (c, settings) = await ConnectAsync(ts);
        await using var _c = c;
        SettingValue(settings, 0x6).Should().Be(4096u, "SETTINGS_MAX_HEADER_LIST_SIZE is the smaller of the two limits");

        await c.SendHeadersAsync(1, true, H2.Get("/static", ("x-big", new string('v', 5000))));
        (await c.ReadResponseAsync(1)).Status.Should().Be(431);
        LastReason(ts).Should().Contain(": HeadersTooLarge, answered 431");
        await c.SendHeadersAsync(3, true, H2.Get("/static", ("x-small", new string('v', 3000))));
        (await c.ReadResponseAsync(3)).Status.Should().Be(200);
    }

    [Fact]
    public async Task MaxRequestHeaderCount_counts_the_authority_as_host()
    {
        await using var ts = await StartH2Async(options: o => o.MaxRequestHeaderCount = 5);
        var (c, _) = await ConnectAsync(ts);
        await using var _c = c;
        var four = Enumerable.Range(0, 4).Select(i => ($"x-{i}", "v")).ToArray();
        await c.SendHeadersAsync(1, true, H2.Get("/static", four));
        (await c.ReadResponseAsync(1)).Status.Should().Be(200, "four fields and :authority make five");
        await c.SendHeadersAsync(3, true, H2.Get("/static", [.. four, ("x-4", "v")]));
        (await c.ReadResponseAsync(3)).Status.Should().Be(431);
        LastReason(ts).Should().Contain(": TooManyHeaders, answered 431");
    }

    [Fact]
    public async Task MaxRequestLineSize_applies_to_method_and_path()
    {
        // "GET /static?xxxx HTTP/1.1" with its CR: the line HTTP/1.1 would measure for the same request.
        await using var ts = await StartH2Async(options: o => o.MaxRequestLineSize = 64);
        var (c, _) = await ConnectAsync(ts);
        await using var _c = c;
        string fits = "/static?" + new string('q', 64 - 11 - 3 - 8);
        await c.SendHeadersAsync(1, true, H2.Get(fits));
        (await c.ReadResponseAsync(1)).Status.Should().Be(200);
        await c.SendHeadersAsync(3, true, H2.Get(fits + "q"));
        (await c.ReadResponseAsync(3)).Status.Should().Be(414);
        LastReason(ts).Should().Contain(": RequestLineTooLong, answered 414");
    }

    [Fact]
    public async Task An_unfinished_header_block_is_ended_by_RequestHeadersTimeout()
    {
        var clock = new TestClock();
        await using var ts = await StartH2Async(options: o => o.TimeProvider = clock.Time);
        var (c, _) = await ConnectAsync(ts);
        await using var _c = c;
        var block = H2.Block(H2.Get());
        await c.SendFrameAsync(H2.Headers, H2.EndStream, 1, block[..4]);
        await c.SendFrameAsync(H2.Continuation, 0, 1, block[4..8]);
        var took = await clock.AdvanceUntilAsync(() => ts.Logs.Lines.Any(l => l.Message.Contains("RequestHeadersTimeout", StringComparison.Ordinal)), what: "the request-headers timeout");
        took.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(30), "the default RequestHeadersTimeout is 30 s");
        await ExpectEnhanceYourCalmAsync(c);
        LastReason(ts).Should().Contain(": RequestHeadersTimeout, answered GOAWAY EnhanceYourCalm");
    }

    [Fact]
    public async Task A_finished_header_block_stops_the_request_headers_clock()
    {
        var clock = new TestClock();
        await using var ts = await StartH2Async(options: o => o.TimeProvider = clock.Time);
        var (c, _) = await ConnectAsync(ts);
        await using var _c = c;
        var block = H2.Block(H2.Get("/hold"));
        await c.SendFrameAsync(H2.Headers, H2.EndStream, 1, block[..4]);
        await c.SendFrameAsync(H2.Continuation, H2.EndHeaders, 1, block[4..]);
        await c.ExpectAsync(f => f.Type == H2.Headers && f.StreamId == 1, "response headers");

        // A minute of fake time past the 30 s timeout the connection still answers.
        for (int i = 0; i < 60; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
        }

        await TestClock.SettlesAsync(() => false);
        await c.SendHeadersAsync(3, true, H2.Get());
        (await c.ReadResponseAsync(3)).Status.Should().Be(200);
        c.Received.Should().NotContain(f => f.Type == H2.GoAway);
    }

    public static TheoryData<string, string, string> Http2OnlyRules() => new()
    {
        // RFC 9113 §8.2.1: uppercase names; §8.2.2: connection-specific fields, TE other than "trailers".
        { "uppercase name", "X-Upper", "1" },
        { "connection", "connection", "keep-alive" },
        { "keep-alive", "keep-alive", "timeout=5" },
        { "proxy-connection", "proxy-connection", "keep-alive" },
        { "transfer-encoding", "transfer-encoding", "chunked" },
        { "upgrade", "upgrade", "websocket" },
        { "te gzip", "te", "gzip" },
    };

    [Theory]
    [MemberData(nameof(Http2OnlyRules))]
    public async Task Http2_only_field_rules_reset_the_stream_and_log_their_reason(string name, string field, string value)
    {
        await using var ts = await StartH2Async();
        var (c, _) = await ConnectAsync(ts);
        await using var _c = c;
        await c.SendHeadersAsync(1, true, H2.Get("/static", (field, value)));
        var rst = await c.ExpectRstAsync(1);
        rst.ErrorCode.Should().Be(H2.ProtocolError, "{0}: got {1}", name, rst);
        string expected = name == "uppercase name" ? "InvalidHeaderName" : "ConnectionSpecificHeader";
        await c.SendHeadersAsync(3, true, H2.Get());
        (await c.ReadResponseAsync(3)).Status.Should().Be(200);
        LastReason(ts).Should().Contain($": {expected}, answered RST_STREAM ProtocolError", name);
    }

    [Fact]
    public async Task Te_trailers_is_served()
    {
        await using var ts = await StartH2Async();
        var (c, _) = await ConnectAsync(ts);
        await using var _c = c;
        await c.SendHeadersAsync(1, true, H2.Get("/static", ("te", "trailers")));
        (await c.ReadResponseAsync(1)).Status.Should().Be(200);
    }

    public static TheoryData<string, int, bool> TrailerCases() => new()
    {
        // The trailer section follows the header rules (as HTTP/1.1's chunked trailers do): names, values, count.
        { "x-a: b", 1, true },
        { "x(a: b", 1, false },
        { "x-a: a\u0001b", 1, false },
        { "x-a: b", 5, true },
        { "x-a: b", 6, false },
    };

    [Theory]
    [MemberData(nameof(TrailerCases))]
    public async Task Trailers_follow_the_header_rules(string field, int count, bool served)
    {
        await using var ts = await StartH2Async(options: o => o.MaxRequestHeaderCount = 5);
        var (c, _) = await ConnectAsync(ts);
        await using var _c = c;
        int colon = field.IndexOf(':', StringComparison.Ordinal);
        var trailers = Enumerable.Range(0, count).Select(i => (field[..colon] + (i == 0 ? string.Empty : $"-{i}"), field[(colon + 2)..])).ToArray();
        await c.SendHeadersAsync(1, false, H2.Post("/echo"));
        await c.SendFrameAsync(H2.Data, 0, 1, "hello"u8);
        await c.SendHeadersAsync(1, true, trailers);
        if (served)
        {
            (await c.ReadResponseAsync(1)).Body.Should().Equal("hello"u8.ToArray());
        }
        else
        {
            var rst = await c.ExpectRstAsync(1);
            rst.ErrorCode.Should().Be(H2.ProtocolError, "{0} x{1}: got {2}", field, count, rst);
        }
    }

    private static uint? SettingValue(H2Frame settings, ushort id)
    {
        for (int i = 0; i + 6 <= settings.Payload.Length; i += 6)
        {
            if (BinaryPrimitives.ReadUInt16BigEndian(settings.Payload.AsSpan(i)) == id)
            {
                return BinaryPrimitives.ReadUInt32BigEndian(settings.Payload.AsSpan(i + 2));
            }
        }

        return null;
    }
}

public sealed class Http2RequestLimitsTestsOnSockets : Http2RequestLimitsTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class Http2RequestLimitsTestsOnIoUring : Http2RequestLimitsTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class Http2RequestLimitsTestsOnEpoll : Http2RequestLimitsTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
