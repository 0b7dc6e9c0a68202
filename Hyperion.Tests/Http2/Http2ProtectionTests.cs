using System.Text;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Http2;

/// <summary>
/// Abuse a real client could mount, each bounded by an option and answered with the RFC's error: rapid reset,
/// CONTINUATION floods, HPACK bombs, SETTINGS/PING floods, zero-window stalls, oversized header lists, too many streams.
/// </summary>
public abstract class Http2ProtectionTests : TransportTests
{
    private Task<TestServer> StartH2Async(Action<Http2Options>? h2 = null, Action<HyperionOptions>? options = null)
        => StartAsync(s =>
        {
            var o = new Http2Options();
            h2?.Invoke(o);
            s.UseHttp2(o);
            s.HandleStatic("GET", "/static", "ok");
            s.Handle("GET", "/big", _ => RackResponse.Bytes(200, new byte[200_000]));
            s.Handle("GET", "/hold", _ => RackResponse.Streaming(200, null, async w => await Task.Delay(Timeout.Infinite, w.Aborted)));
        }, options);

    private static async Task<H2RawClient> ConnectAsync(TestServer ts, params byte[][] settings)
    {
        var c = await H2RawClient.ConnectAsync(ts.Port, true, settings);
        await c.ExpectAsync(f => f.Type == H2.Settings && !f.Has(H2.Ack), "server SETTINGS");
        return c;
    }

    private static async Task ExpectConnectionErrorAsync(H2RawClient c, uint code)
    {
        var goAway = await c.ExpectGoAwayAsync();
        goAway.ErrorCode.Should().Be(code, "got {0}", goAway);
        (await c.ClosedAsync()).Should().BeTrue();
    }

    [Fact]
    public async Task Rapid_reset_is_answered_with_enhance_your_calm()
    {
        await using var ts = await StartH2Async(o => o.MaxStreamResetsPerWindow = 50);
        await using var c = await ConnectAsync(ts);
        var frames = new List<byte[]>();
        for (int id = 1; id <= 2 * 60; id += 2)
        {
            frames.Add(H2.Frame(H2.Headers, H2.EndHeaders | H2.EndStream, id, H2.Block(H2.Get("/static"))));
            frames.Add(H2.Frame(H2.RstStream, 0, id, H2.U32(H2.Cancel)));
        }

        await c.SendAsync([.. frames]);
        await ExpectConnectionErrorAsync(c, H2.EnhanceYourCalm);
    }

    [Fact]
    public async Task Resets_under_the_limit_are_fine()
    {
        await using var ts = await StartH2Async(o => o.MaxStreamResetsPerWindow = 50);
        await using var c = await ConnectAsync(ts);
        for (int id = 1; id <= 2 * 40; id += 2)
        {
            await c.SendAsync(H2.Frame(H2.Headers, H2.EndHeaders | H2.EndStream, id, H2.Block(H2.Get("/hold"))), H2.Frame(H2.RstStream, 0, id, H2.U32(H2.Cancel)));
        }

        await c.SendHeadersAsync(101, true, H2.Get());
        (await c.ReadResponseAsync(101)).Status.Should().Be(200);
    }

    [Fact]
    public async Task Continuation_flood_of_empty_frames_is_cut_off()
    {
        await using var ts = await StartH2Async(o => o.MaxContinuationFrames = 20);
        await using var c = await ConnectAsync(ts);
        var frames = new List<byte[]> { H2.Frame(H2.Headers, H2.EndStream, 1, H2.Block(H2.Get())) };
        for (int i = 0; i < 1000; i++)
        {
            frames.Add(H2.Frame(H2.Continuation, 0, 1, []));
        }

        await c.SendAsync([.. frames]);
        await ExpectConnectionErrorAsync(c, H2.EnhanceYourCalm);
    }

    [Fact]
    public async Task Continuation_flood_past_the_header_list_limit_is_cut_off_before_end_headers()
    {
        await using var ts = await StartH2Async(o => { o.MaxHeaderListSize = 4096; o.MaxContinuationFrames = 1000; });
        await using var c = await ConnectAsync(ts);
        var filler = H2.Block(("x-filler", new string('a', 1000)));
        var frames = new List<byte[]> { H2.Frame(H2.Headers, H2.EndStream, 1, H2.Block(H2.Get())) };
        for (int i = 0; i < 50; i++)
        {
            frames.Add(H2.Frame(H2.Continuation, 0, 1, filler));
        }

        await c.SendAsync([.. frames]);
        await ExpectConnectionErrorAsync(c, H2.EnhanceYourCalm);
    }

    [Fact]
    public async Task Hpack_bomb_is_bounded_by_the_header_list_limit_and_answered_431()
    {
        await using var ts = await StartH2Async(o => o.MaxHeaderListSize = 8192);
        await using var c = await ConnectAsync(ts);

        // One 4000-octet entry added to the dynamic table (literal with incremental indexing), then referenced 100 times
        // by its 1-octet index 62: 400 KB decoded from 4 KB sent.
        var block = new List<byte>(H2.Block(H2.Get()));
        block.Add(0x40);
        block.AddRange(Lit("x-bomb"));
        block.AddRange(Lit(new string('b', 4000)));
        for (int i = 0; i < 100; i++)
        {
            block.Add(0x80 | 62);
        }

        await c.SendFrameAsync(H2.Headers, H2.EndHeaders | H2.EndStream, 1, block.ToArray());
        (await c.ReadResponseAsync(1)).Status.Should().Be(431);

        // The table stayed in step: the next request on the same connection is served.
        await c.SendHeadersAsync(3, true, H2.Get());
        (await c.ReadResponseAsync(3)).Status.Should().Be(200);
    }

    private static byte[] Lit(string s)
    {
        var b = H2.Block(("", s));
        return b[2..];
    }

    [Fact]
    public async Task Oversized_header_list_is_431_and_the_connection_lives_on()
    {
        await using var ts = await StartH2Async(o => o.MaxHeaderListSize = 4096);
        await using var c = await ConnectAsync(ts);
        var fields = Enumerable.Range(0, 6).Select(i => ($"x-big-{i}", new string('v', 1000))).ToArray();
        await c.SendHeadersAsync(1, true, H2.Get("/static", fields));
        (await c.ReadResponseAsync(1)).Status.Should().Be(431);
        await c.SendHeadersAsync(3, true, H2.Get());
        (await c.ReadResponseAsync(3)).Status.Should().Be(200);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task Single_literal_longer_than_the_whole_limit_is_431_and_the_connection_lives_on(bool huffman, bool indexed)
    {
        // RFC 9113 §10.5.1: the decoder reads past the literal without keeping it (an indexed one empties the table,
        // RFC 7541 §4.4, as the client's encoder does), so the HPACK state survives and only the stream is refused.
        await using var ts = await StartH2Async(o => o.MaxHeaderListSize = 4096);
        await using var c = await ConnectAsync(ts);
        var encoder = new Hyperion.Http2.Hpack.HpackEncoder
        {
            Indexing = indexed ? Hyperion.Http2.Hpack.HpackIndexing.All : Hyperion.Http2.Hpack.HpackIndexing.None,
            UseHuffman = huffman,
        };
        byte[] Encode(params (string Name, string Value)[] fields)
        {
            var block = new System.Buffers.ArrayBufferWriter<byte>();
            encoder.BeginBlock(block);
            foreach (var (name, value) in fields)
            {
                encoder.EncodeHeader(block, name, value);
            }

            return block.WrittenSpan.ToArray();
        }

        await c.SendFrameAsync(H2.Headers, H2.EndHeaders | H2.EndStream, 1, Encode(H2.Get("/static", ("x-small", "s"))));
        (await c.ReadResponseAsync(1)).Status.Should().Be(200);
        await c.SendFrameAsync(H2.Headers, H2.EndHeaders | H2.EndStream, 3, Encode(H2.Get("/static", ("x-big", new string('v', 9000)))));
        (await c.ReadResponseAsync(3)).Status.Should().Be(431);

        // The same encoder goes on; with indexing its table was emptied by the big entry, and so was ours.
        await c.SendFrameAsync(H2.Headers, H2.EndHeaders | H2.EndStream, 5, Encode(H2.Get("/static", ("x-small", "s"))));
        (await c.ReadResponseAsync(5)).Status.Should().Be(200);
        c.Received.Should().NotContain(f => f.Type == H2.GoAway);
    }

    [Fact]
    public async Task Too_many_header_fields_is_431()
    {
        await using var ts = await StartH2Async(options: o => o.MaxRequestHeaderCount = 10);
        await using var c = await ConnectAsync(ts);
        var fields = Enumerable.Range(0, 11).Select(i => ($"x-{i}", "v")).ToArray();
        await c.SendHeadersAsync(1, true, H2.Get("/static", fields));
        (await c.ReadResponseAsync(1)).Status.Should().Be(431);
    }

    [Fact]
    public async Task Settings_flood_is_answered_with_enhance_your_calm()
    {
        await using var ts = await StartH2Async(o => o.MaxControlFramesPerSecond = 100);
        await using var c = await ConnectAsync(ts);
        await c.SendAsync([.. Enumerable.Range(0, 500).Select(_ => H2.Frame(H2.Settings, 0, 0, H2.Setting(3, 100)))]);
        await ExpectConnectionErrorAsync(c, H2.EnhanceYourCalm);
    }

    [Fact]
    public async Task Ping_flood_is_answered_with_enhance_your_calm()
    {
        await using var ts = await StartH2Async(o => o.MaxControlFramesPerSecond = 100);
        await using var c = await ConnectAsync(ts);
        await c.SendAsync([.. Enumerable.Range(0, 500).Select(_ => H2.Frame(H2.Ping, 0, 0, new byte[8]))]);
        await ExpectConnectionErrorAsync(c, H2.EnhanceYourCalm);
    }

    [Fact]
    public async Task Zero_window_stall_resets_the_stream_after_the_timeout()
    {
        var clock = new TestClock();
        await using var ts = await StartH2Async(o => o.SendWindowStallTimeout = TimeSpan.FromSeconds(5), o => o.TimeProvider = clock.Time);

        // The client grants no stream window at all and never opens it.
        await using var c = await ConnectAsync(ts, H2.Setting(4, 0));
        await c.SendHeadersAsync(1, true, H2.Get("/big"));
        var rstTask = c.ExpectRstAsync(1);
        var took = await clock.AdvanceUntilAsync(() => rstTask.IsCompleted, what: "the RST_STREAM");
        took.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(5));
        var rst = await rstTask;
        rst.Type.Should().Be(H2.RstStream);
        rst.ErrorCode.Should().Be(H2.Cancel);

        // Only that stream: the connection still serves once the client grants window again.
        await c.SendFrameAsync(H2.Settings, 0, 0, H2.Setting(4, 65535));
        await c.SendHeadersAsync(3, true, H2.Get());
        (await c.ReadResponseAsync(3)).Status.Should().Be(200);
    }

    [Fact]
    public async Task Request_body_trickling_below_the_minimum_rate_is_408_on_that_stream()
    {
        var clock = new TestClock();
        await using var ts = await StartAsync(s =>
        {
            s.UseHttp2();
            s.HandleStatic("GET", "/static", "ok");
            s.Handle("POST", "/echo", async env =>
            {
                var ms = new MemoryStream();
                await env.Body.CopyToAsync(ms);
                return RackResponse.Bytes(200, ms.ToArray());
            });
        }, o =>
        {
            o.TimeProvider = clock.Time;
            o.MinRequestBodyDataRate = 1000;
            o.MinRequestBodyDataRateGracePeriod = TimeSpan.FromSeconds(2);
        });
        await using var c = await ConnectAsync(ts);
        await c.SendHeadersAsync(1, false, H2.Post("/echo"));
        await c.SendFrameAsync(H2.Data, 0, 1, new byte[10]);
        var response = c.ReadResponseAsync(1);
        var took = await clock.AdvanceUntilAsync(() => response.IsCompleted, what: "the 408");
        took.Should().BeGreaterThan(TimeSpan.FromSeconds(2));
        (await response).Status.Should().Be(408);
        await c.SendHeadersAsync(3, true, H2.Get());
        (await c.ReadResponseAsync(3)).Status.Should().Be(200);
    }

    [Fact]
    public async Task The_stream_body_rate_clock_stops_while_the_app_is_not_reading()
    {
        var clock = new TestClock();
        var firstRead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartAsync(s =>
        {
            s.UseHttp2();
            s.Handle("POST", "/slow-app", async env =>
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
            });
        }, o =>
        {
            o.TimeProvider = clock.Time;
            o.MinRequestBodyDataRate = 1000;
            o.MinRequestBodyDataRateGracePeriod = TimeSpan.FromSeconds(1);
        });
        await using var c = await ConnectAsync(ts);
        await c.SendHeadersAsync(1, false, H2.Post("/slow-app"));
        await c.SendFrameAsync(H2.Data, H2.EndStream, 1, new byte[100]);
        await firstRead.Task.WaitAsync(TimeSpan.FromSeconds(10));
        for (int i = 0; i < 60; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1)); // a minute of app work with 100 B in hand: not the client's fault
        }

        resume.SetResult();
        var r = await c.ReadResponseAsync(1);
        r.Status.Should().Be(200);
        Encoding.ASCII.GetString(r.Body).Should().Be("100");
    }

    [Fact]
    public async Task Streams_over_max_concurrent_are_refused()
    {
        await using var ts = await StartH2Async(o => o.MaxConcurrentStreams = 2);
        await using var c = await ConnectAsync(ts);
        await c.SendHeadersAsync(1, true, H2.Get("/hold"));
        await c.SendHeadersAsync(3, true, H2.Get("/hold"));
        await c.SendHeadersAsync(5, true, H2.Get("/hold"));
        var rst = await c.ExpectRstAsync(5);
        rst.Type.Should().Be(H2.RstStream);
        rst.ErrorCode.Should().Be(H2.RefusedStream);

        // Once one finishes, a new stream is accepted.
        await c.SendFrameAsync(H2.RstStream, 0, 1, H2.U32(H2.Cancel));
        await c.SendHeadersAsync(7, true, H2.Get());
        (await c.ReadResponseAsync(7)).Status.Should().Be(200);
    }

    [Fact]
    public async Task Idle_connection_gets_goaway_after_the_keep_alive_timeout()
    {
        var clock = new TestClock();
        await using var ts = await StartH2Async(options: o =>
        {
            o.TimeProvider = clock.Time;
            o.KeepAliveTimeout = TimeSpan.FromSeconds(10);
        });
        await using var c = await ConnectAsync(ts);
        var goAwayTask = c.ExpectGoAwayAsync();
        var took = await clock.AdvanceUntilAsync(() => goAwayTask.IsCompleted, what: "the GOAWAY");
        took.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(10));
        (await goAwayTask).ErrorCode.Should().Be(H2.NoError);
        (await c.ClosedAsync()).Should().BeTrue();
    }
}

public sealed class Http2ProtectionTestsOnSockets : Http2ProtectionTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class Http2ProtectionTestsOnIoUring : Http2ProtectionTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class Http2ProtectionTestsOnEpoll : Http2ProtectionTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
