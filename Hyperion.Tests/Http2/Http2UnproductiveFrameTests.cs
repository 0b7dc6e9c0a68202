using System.Net;
using Hyperion;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Native;

namespace Hyperion.Tests.Http2;

/// <summary>
/// <see cref="Http2Options.MaxUnproductiveFramesPerSecond"/>: frames that cost work but move nothing (CVE-2019-9518
/// empty frames, WINDOW_UPDATE/PRIORITY floods, RST_STREAM on closed streams) are counted, and past the budget the
/// connection gets GOAWAY ENHANCE_YOUR_CALM; real clients uploading, downloading and multiplexing stay under the default.
/// </summary>
public abstract class Http2UnproductiveFrameTests : TransportTests
{
    private const int Budget = 100;

    // Stream 1 is an open upload the app never finishes reading; stream 3 has completed. Header blocks use ids from 5.
    private const int OpenStream = 1;
    private const int ClosedStream = 3;

    private Task<TestServer> StartH2Async(Action<Http2Options>? h2 = null)
        => StartAsync(s =>
        {
            var o = new Http2Options();
            h2?.Invoke(o);
            s.UseHttp2(o);
            s.HandleStatic("GET", "/static", "ok");
            s.Handle("POST", "/hold", _ => RackResponse.Streaming(200, null, async w => await Task.Delay(Timeout.Infinite, w.Aborted)));
            s.Handle("POST", "/count", async env =>
            {
                long n = 0;
                var buffer = new byte[64 * 1024];
                int read;
                while ((read = await env.Body.ReadAsync(buffer)) > 0)
                {
                    n += read;
                }

                return RackResponse.Text(200, n.ToString(System.Globalization.CultureInfo.InvariantCulture));
            });
            s.Handle("GET", "/bytes", env => RackResponse.Bytes(200, new byte[int.Parse(env.QueryString, System.Globalization.CultureInfo.InvariantCulture)]));
        });

    /// <summary>Each kind of frame that makes no progress, as <paramref name="count"/> frames sent back to back.</summary>
    public static TheoryData<string> Kinds() => new()
    {
        "empty DATA",
        "padding-only DATA",
        "connection WINDOW_UPDATE without DATA sent",
        "stream WINDOW_UPDATE without DATA sent",
        "WINDOW_UPDATE on a closed stream",
        "PRIORITY",
        "RST_STREAM on a closed stream",
        "zero-length HEADERS",
        "zero-length CONTINUATION",
    };

    private static byte[][] Frames(string kind, int count)
    {
        var frames = new List<byte[]>();
        for (int i = 0; i < count; i++)
        {
            int id = 5 + (2 * i);
            switch (kind)
            {
                case "empty DATA":
                    frames.Add(H2.Frame(H2.Data, 0, OpenStream, []));
                    break;
                case "padding-only DATA":
                    frames.Add(H2.Frame(H2.Data, H2.Padded, OpenStream, [4, 0, 0, 0, 0]));
                    break;
                case "connection WINDOW_UPDATE without DATA sent":
                    frames.Add(H2.Frame(H2.WindowUpdate, 0, 0, H2.U32(1)));
                    break;
                case "stream WINDOW_UPDATE without DATA sent":
                    frames.Add(H2.Frame(H2.WindowUpdate, 0, OpenStream, H2.U32(1)));
                    break;
                case "WINDOW_UPDATE on a closed stream":
                    frames.Add(H2.Frame(H2.WindowUpdate, 0, ClosedStream, H2.U32(1)));
                    break;
                case "PRIORITY":
                    frames.Add(H2.Frame(H2.Priority, 0, ClosedStream, [0, 0, 0, 0, 16]));
                    break;
                case "RST_STREAM on a closed stream":
                    frames.Add(H2.Frame(H2.RstStream, 0, ClosedStream, H2.U32(H2.Cancel)));
                    break;
                case "zero-length HEADERS":
                    // An empty HEADERS fragment, the block itself in the CONTINUATION: a valid request, each on a new stream.
                    frames.Add(H2.Frame(H2.Headers, H2.EndStream, id, []));
                    frames.Add(H2.Frame(H2.Continuation, H2.EndHeaders, id, H2.Block(H2.Get())));
                    break;
                case "zero-length CONTINUATION":
                    frames.Add(H2.Frame(H2.Headers, H2.EndStream, id, H2.Block(H2.Get())));
                    frames.Add(H2.Frame(H2.Continuation, 0, id, []));
                    frames.Add(H2.Frame(H2.Continuation, H2.EndHeaders, id, []));
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
            }
        }

        return [.. frames];
    }

    /// <summary>An open upload on stream 1 and a finished request on stream 3, so every kind has its target.</summary>
    private static async Task<H2RawClient> ConnectWithStreamsAsync(TestServer ts)
    {
        var c = await H2RawClient.ConnectAsync(ts.Port);
        await c.ExpectAsync(f => f.Type == H2.Settings && !f.Has(H2.Ack), "server SETTINGS");
        await c.SendHeadersAsync(OpenStream, false, H2.Post("/hold"));
        await c.SendHeadersAsync(ClosedStream, true, H2.Get());
        (await c.ReadResponseAsync(ClosedStream)).Status.Should().Be(200);
        return c;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_flood_past_the_budget_is_answered_with_enhance_your_calm(string kind)
    {
        await using var ts = await StartH2Async(o => { o.MaxUnproductiveFramesPerSecond = Budget; o.MaxConcurrentStreams = 1000; o.MaxStreamResetsPerWindow = 10_000; });
        await using var c = await ConnectWithStreamsAsync(ts);
        await c.SendAsync(Frames(kind, 5 * Budget));
        var goAway = await c.ExpectGoAwayAsync();
        goAway.ErrorCode.Should().Be(H2.EnhanceYourCalm, "got {0}", goAway);
        (await c.ClosedAsync()).Should().BeTrue();
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_same_frames_under_the_budget_leave_the_connection_serving(string kind)
    {
        await using var ts = await StartH2Async(o => { o.MaxUnproductiveFramesPerSecond = Budget; o.MaxConcurrentStreams = 1000; o.MaxStreamResetsPerWindow = 10_000; });
        await using var c = await ConnectWithStreamsAsync(ts);
        await c.SendAsync(Frames(kind, Budget / 4));
        await c.SendHeadersAsync(1001, true, H2.Get());
        (await c.ReadResponseAsync(1001)).Status.Should().Be(200);
        c.Received.Should().NotContain(f => f.Type == H2.GoAway);
    }

    [Fact]
    public async Task Window_updates_that_replenish_each_data_frame_are_progress()
    {
        // A client that returns window for every DATA frame, on the stream and the connection, even after the last
        // frame closed the stream: two WINDOW_UPDATEs per frame received, all earned, none counted.
        await using var ts = await StartH2Async(o => o.MaxUnproductiveFramesPerSecond = Budget);
        await using var c = await H2RawClient.ConnectAsync(ts.Port);
        for (int id = 1; id <= 2 * 60; id += 2)
        {
            await c.SendHeadersAsync(id, true, H2.Get("/bytes?40000"));
            var response = await c.ReadResponseAsync(id);
            response.Body.Length.Should().Be(40000);
        }

        int dataFrames = c.Received.Count(f => f.Type == H2.Data && f.Length > 0);
        dataFrames.Should().BeGreaterThan(Budget, "the test must send more WINDOW_UPDATEs than the budget to mean anything");
        await c.SendHeadersAsync(1001, true, H2.Get());
        (await c.ReadResponseAsync(1001)).Status.Should().Be(200);
        c.Received.Should().NotContain(f => f.Type == H2.GoAway);
    }

    [Fact]
    public async Task Window_returned_in_half_frame_steps_is_progress()
    {
        // HttpClient gives window back every 1/8 of its window, which can be two WINDOW_UPDATEs per 16 KiB frame on
        // the stream and two on the connection: credit is counted in bytes, so all of them are earned.
        await using var ts = await StartH2Async(o => o.MaxUnproductiveFramesPerSecond = Budget);
        await using var c = await H2RawClient.ConnectAsync(ts.Port);
        int updates = 0;
        for (int id = 1; updates <= 2 * Budget; id += 2)
        {
            await c.SendHeadersAsync(id, true, H2.Get("/bytes?40000"));
            while (true)
            {
                var f = await c.ExpectAsync(x => x.StreamId == id || x.Type == H2.GoAway, $"response on {id}");
                f.Type.Should().NotBe(H2.GoAway, "returning window in smaller steps is not a flood");
                if (f.Type == H2.Data && f.Payload.Length > 0)
                {
                    uint first = (uint)f.Payload.Length / 2, second = (uint)f.Payload.Length - first;
                    await c.SendAsync(
                        H2.Frame(H2.WindowUpdate, 0, id, H2.U32(first)), H2.Frame(H2.WindowUpdate, 0, 0, H2.U32(first)),
                        H2.Frame(H2.WindowUpdate, 0, id, H2.U32(second)), H2.Frame(H2.WindowUpdate, 0, 0, H2.U32(second)));
                    updates += 4;
                }

                if (f.Has(H2.EndStream))
                {
                    break;
                }
            }
        }

        await c.SendHeadersAsync(1001, true, H2.Get());
        (await c.ReadResponseAsync(1001)).Status.Should().Be(200);
        c.Received.Should().NotContain(f => f.Type == H2.GoAway);
    }

    [Fact]
    public async Task Window_returned_a_byte_at_a_time_is_a_flood()
    {
        // 40,000 bytes of DATA owe the client 40,000 bytes of window; giving it back in 1-byte WINDOW_UPDATEs would
        // be 40,000 frames of work for one response, so increments that small only count when they clear the debt.
        await using var ts = await StartH2Async(o => o.MaxUnproductiveFramesPerSecond = Budget);
        await using var c = await H2RawClient.ConnectAsync(ts.Port);
        await c.SendHeadersAsync(1, true, H2.Get("/bytes?40000"));
        await c.ExpectAsync(f => f.StreamId == 1 && f.Has(H2.EndStream), "the whole response");

        await c.SendAsync(Enumerable.Range(0, 5 * Budget).Select(_ => H2.Frame(H2.WindowUpdate, 0, 0, H2.U32(1))).ToArray());
        var goAway = await c.ExpectGoAwayAsync();
        goAway.ErrorCode.Should().Be(H2.EnhanceYourCalm, "got {0}", goAway);
    }

    [Fact]
    public async Task HttpClient_large_upload_download_and_many_concurrent_streams_stay_under_the_default()
    {
        await using var ts = await StartH2Async();
        using var client = H2cClient.Create(new Uri($"http://127.0.0.1:{ts.Port}"));

        var upload = H2cClient.Request(HttpMethod.Post, "/count");
        upload.Content = new ByteArrayContent(new byte[16 * 1024 * 1024]);
        using (var r = await client.SendAsync(upload))
        {
            r.StatusCode.Should().Be(HttpStatusCode.OK);
            (await r.Content.ReadAsStringAsync()).Should().Be((16 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        using (var r = await client.SendAsync(H2cClient.Request(HttpMethod.Get, "/bytes?16777216")))
        {
            (await r.Content.ReadAsByteArrayAsync()).Length.Should().Be(16 * 1024 * 1024);
        }

        var many = Enumerable.Range(0, 500).Select(async i =>
        {
            using var r = await client.SendAsync(H2cClient.Request(HttpMethod.Get, i % 2 == 0 ? "/static" : "/bytes?20000"));
            r.Version.Should().Be(HttpVersion.Version20);
            return r.StatusCode;
        });
        (await Task.WhenAll(many)).Should().AllSatisfy(s => s.Should().Be(HttpStatusCode.OK));
    }

    [RequiresToolFact("h2load")]
    public async Task H2load_with_100_concurrent_streams_stays_under_the_default()
    {
        await using var ts = await StartH2Async();
        var (code, output, err) = await ToolProcess.RunAsync("h2load", "-n", "5000", "-c", "1", "-m", "100", $"http://127.0.0.1:{ts.Port}/bytes?20000");
        code.Should().Be(0, err);
        output.Should().Contain("5000 succeeded, 0 failed, 0 errored").And.Contain("status codes: 5000 2xx");
    }
}

public sealed class Http2UnproductiveFrameTestsOnSockets : Http2UnproductiveFrameTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class Http2UnproductiveFrameTestsOnIoUring : Http2UnproductiveFrameTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class Http2UnproductiveFrameTestsOnEpoll : Http2UnproductiveFrameTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
