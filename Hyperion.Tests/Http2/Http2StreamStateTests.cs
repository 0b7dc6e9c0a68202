using System.Globalization;
using Hyperion;
using Hyperion.Http2.Internal;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Http2;

/// <summary>
/// The stream-state rows of the RFC 9113 conformance table (§5.1, §5.4, §6.9): one line per case, each run against a
/// route that answers at once (before the request's END_STREAM, then RST_STREAM NO_ERROR) and one that waits for the
/// whole request body, and with the client's frames sent at once or only after the server has said all it will say
/// on its own. Every variant must give the RFC's answer for what the client sent, whatever the server had done by then.
/// Message-level rows (§8.1) stay in <see cref="Http2ConformanceTests"/>: once we have answered and reset a request,
/// its remaining frames are discarded (§5.1), so those answers rightly depend on the route.
/// </summary>
public abstract class Http2StreamStateTests : TransportTests, IAsyncLifetime
{
    private static readonly byte[] Data5 = "hello"u8.ToArray();
    private static readonly byte[] SettledPing = "settled!"u8.ToArray();

    private TestServer _server = null!;

    public enum Route
    {
        /// <summary>Answers without reading the body: the response can end before the request does.</summary>
        AnswersAtOnce,

        /// <summary>Reads the whole request body, then answers.</summary>
        WaitsForBody,
    }

    public enum Timing
    {
        /// <summary>The client's frames follow the request's HEADERS at once.</summary>
        Immediately,

        /// <summary>The client first reads what the server sends on its own: the response and, if the request is still open, the RST_STREAM NO_ERROR.</summary>
        AfterTheServerIsDone,
    }

    public enum Kind
    {
        StreamError,
        ConnectionError,
        Accepted,
    }

    /// <summary>What the server must answer: RST_STREAM or GOAWAY with <paramref name="Code"/>, or nothing (the frames are accepted).</summary>
    public sealed record Outcome(Kind Kind, int Stream, uint Code)
    {
        public static Outcome StreamError(int stream, uint code) => new(Kind.StreamError, stream, code);

        public static Outcome ConnectionError(uint code) => new(Kind.ConnectionError, 0, code);

        public static readonly Outcome Accepted = new(Kind.Accepted, 0, 0);
    }

    /// <summary>Stream 1 is opened on the route (its HEADERS with END_STREAM when <paramref name="EndRequest"/>), then <paramref name="Then"/> is sent.</summary>
    public sealed record Row(bool EndRequest, Func<H2RawClient, Task> Then, Outcome Expected);

    private const bool Ended = true;
    private const bool Open = false;

    private static Task WindowUpdate(H2RawClient c, int stream, uint increment) => c.SendFrameAsync(H2.WindowUpdate, 0, stream, H2.U32(increment));

    private static Task Reset(H2RawClient c, int stream = 1) => c.SendFrameAsync(H2.RstStream, 0, stream, H2.U32(H2.Cancel));

    private static Task Data(H2RawClient c, int stream = 1, bool end = false) => c.SendFrameAsync(H2.Data, end ? H2.EndStream : (byte)0, stream, Data5);

    private static Task Trailers(H2RawClient c, int stream = 1) => c.SendHeadersAsync(stream, true, ("x-trailer", "1"));

    private static Task Get(H2RawClient c, int stream) => c.SendHeadersAsync(stream, true, H2.Get());

    public static readonly Dictionary<string, Row> Rows = new()
    {
        // §6.9: WINDOW_UPDATE with increment 0 is a stream error PROTOCOL_ERROR in every state.
        ["6.9 WINDOW_UPDATE 0 while the request is open"] = new(Open, c => WindowUpdate(c, 1, 0), Outcome.StreamError(1, H2.ProtocolError)),
        ["6.9 WINDOW_UPDATE 0 after END_STREAM"] = new(Ended, c => WindowUpdate(c, 1, 0), Outcome.StreamError(1, H2.ProtocolError)),
        ["6.9 WINDOW_UPDATE 0 after the client's RST_STREAM"] = new(Open, async c => { await Reset(c); await WindowUpdate(c, 1, 0); }, Outcome.StreamError(1, H2.ProtocolError)),
        ["6.9 WINDOW_UPDATE 0 on a skipped stream id"] = new(Open, async c => { await Get(c, 5); await WindowUpdate(c, 3, 0); }, Outcome.StreamError(3, H2.ProtocolError)),
        ["6.9 WINDOW_UPDATE on an idle stream"] = new(Open, c => WindowUpdate(c, 3, 0), Outcome.ConnectionError(H2.ProtocolError)),

        // §6.9.1: a stream window above 2^31-1 is a stream error FLOW_CONTROL_ERROR; a closed stream's window is remembered.
        ["6.9.1 window past 2^31-1 while the request is open"] = new(Open, c => WindowUpdate(c, 1, 0x7FFFFFFF), Outcome.StreamError(1, H2.FlowControlError)),
        ["6.9.1 window past 2^31-1 after END_STREAM"] = new(Ended, c => WindowUpdate(c, 1, 0x7FFFFFFF), Outcome.StreamError(1, H2.FlowControlError)),
        ["6.9.1 window past 2^31-1 after the client's RST_STREAM"] = new(Open, async c => { await Reset(c); await WindowUpdate(c, 1, 0x7FFFFFFF); }, Outcome.StreamError(1, H2.FlowControlError)),
        ["6.9.1 two increments adding up past 2^31-1"] = new(Ended, async c => { await WindowUpdate(c, 1, 1u << 30); await WindowUpdate(c, 1, 1u << 30); }, Outcome.StreamError(1, H2.FlowControlError)),
        ["6.9.2 INITIAL_WINDOW_SIZE pushing a finished stream past 2^31-1"] = new(Ended, async c => { await WindowUpdate(c, 1, 0x7FFFFFFF - 65535); await c.SendFrameAsync(H2.Settings, 0, 0, H2.Setting(4, 65535 + 100)); }, Outcome.ConnectionError(H2.FlowControlError)),

        // §5.1: after the client's own END_STREAM or RST_STREAM, DATA and HEADERS are STREAM_CLOSED.
        ["5.1 DATA after END_STREAM on HEADERS"] = new(Ended, c => Data(c), Outcome.StreamError(1, H2.StreamClosed)),
        ["5.1 HEADERS after END_STREAM on HEADERS"] = new(Ended, c => Trailers(c), Outcome.StreamError(1, H2.StreamClosed)),
        ["5.1 DATA after END_STREAM on DATA"] = new(Open, async c => { await Data(c, end: true); await Data(c); }, Outcome.StreamError(1, H2.StreamClosed)),
        ["5.1 HEADERS after trailers"] = new(Open, async c => { await Trailers(c); await Trailers(c); }, Outcome.StreamError(1, H2.StreamClosed)),
        ["5.1 DATA after the client's RST_STREAM"] = new(Open, async c => { await Reset(c); await Data(c); }, Outcome.StreamError(1, H2.StreamClosed)),
        ["5.1 HEADERS after the client's RST_STREAM"] = new(Open, async c => { await Reset(c); await Trailers(c); }, Outcome.StreamError(1, H2.StreamClosed)),
        ["5.1 DATA after the client's RST_STREAM on a finished request"] = new(Ended, async c => { await Reset(c); await Data(c); }, Outcome.StreamError(1, H2.StreamClosed)),

        // §5.1, §5.1.1: idle ids take only HEADERS and PRIORITY; skipped ids are closed and cannot be reopened.
        ["5.1 DATA on an idle stream"] = new(Open, c => Data(c, 3), Outcome.ConnectionError(H2.ProtocolError)),
        ["5.1 RST_STREAM on an idle stream"] = new(Open, c => Reset(c, 3), Outcome.ConnectionError(H2.ProtocolError)),
        ["5.1 DATA on a skipped stream id"] = new(Open, async c => { await Get(c, 5); await Data(c, 3); }, Outcome.StreamError(3, H2.StreamClosed)),
        ["5.1.1 HEADERS reopening a skipped stream id"] = new(Open, async c => { await Get(c, 5); await Get(c, 3); }, Outcome.ConnectionError(H2.ProtocolError)),

        // §5.1, §5.4.2: what may legitimately cross our END_STREAM or RST_STREAM is accepted.
        ["5.1 the body is accepted even if the response has ended"] = new(Open, async c => { await Data(c); await Data(c, end: true); }, Outcome.Accepted),
        ["5.1 trailers are accepted even if the response has ended"] = new(Open, async c => { await Data(c); await Trailers(c); }, Outcome.Accepted),
        ["5.1 WINDOW_UPDATE after the exchange is accepted"] = new(Ended, c => WindowUpdate(c, 1, 100), Outcome.Accepted),
        ["5.1 RST_STREAM after the exchange is accepted"] = new(Ended, c => Reset(c), Outcome.Accepted),
        ["5.1 PRIORITY after the client's RST_STREAM is accepted"] = new(Open, async c => { await Reset(c); await c.SendFrameAsync(H2.Priority, 0, 1, [0, 0, 0, 0, 16]); }, Outcome.Accepted),
        ["5.4.2 a second RST_STREAM is not answered"] = new(Open, async c => { await Reset(c); await Reset(c); }, Outcome.Accepted),

        // §5.4: "The first stream error reported for a given stream prevents any other errors on that stream from being reported."
        ["5.4 only the first stream error is reported"] = new(Open, async c => { await WindowUpdate(c, 1, 0x7FFFFFFF); await WindowUpdate(c, 1, 0); await Reset(c); await Data(c); }, Outcome.StreamError(1, H2.FlowControlError)),
    };

    public static TheoryData<string, Route, Timing> Variants()
    {
        var data = new TheoryData<string, Route, Timing>();
        foreach (var name in Rows.Keys)
        {
            foreach (var route in Enum.GetValues<Route>())
            {
                foreach (var timing in Enum.GetValues<Timing>())
                {
                    data.Add(name, route, timing);
                }
            }
        }

        return data;
    }

    public async Task InitializeAsync()
    {
        _server = await StartAsync(s =>
        {
            s.UseHttp2();
            s.HandleStatic("GET", "/static", "ok");
            s.Handle("POST", "/now", _ => RackResponse.Text(200, "now"));
            s.Handle("POST", "/wait", async env =>
            {
                var ms = new MemoryStream();
                await env.Body.CopyToAsync(ms);
                return RackResponse.Text(200, ms.Length.ToString(CultureInfo.InvariantCulture));
            });
        });
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Rule(string name, Route route, Timing timing)
    {
        var row = Rows[name];
        await using var c = await ConnectAsync();
        await c.SendHeadersAsync(1, row.EndRequest, H2.Post(route == Route.AnswersAtOnce ? "/now" : "/wait"));
        if (timing == Timing.AfterTheServerIsDone)
        {
            await WaitForTheServerAsync(c, route, row.EndRequest);
        }

        int from = c.Received.Count;
        await row.Then(c);
        await ExpectAsync(c, from, row.Expected, name);
    }

    /// <summary>An early response ends the exchange with RST_STREAM NO_ERROR; client DATA beyond the window it was granted is still FLOW_CONTROL_ERROR (§6.9.1).</summary>
    [Theory]
    [InlineData(Timing.Immediately)]
    [InlineData(Timing.AfterTheServerIsDone)]
    public async Task Data_beyond_the_stream_window_after_an_early_response_is_a_flow_control_error(Timing timing)
    {
        await using var c = await ConnectAsync();
        await c.SendHeadersAsync(1, false, H2.Post("/now"));
        if (timing == Timing.AfterTheServerIsDone)
        {
            await WaitForTheServerAsync(c, Route.AnswersAtOnce, endRequest: false);
        }

        int from = c.Received.Count;

        // The stream window is 256 KiB (Http2Options.InitialStreamWindowSize) and this route never reads: 17 frames of 16 KiB overrun it.
        for (int i = 0; i < 17; i++)
        {
            await c.SendFrameAsync(H2.Data, 0, 1, new byte[16384]);
        }

        await ExpectAsync(c, from, Outcome.StreamError(1, H2.FlowControlError), "DATA beyond the window");
    }

    /// <summary>
    /// The memory of closed streams is bounded (<see cref="Http2ClosedStreams.CapacityFor"/>): a stream closed longer ago
    /// is judged like a skipped id. Its window is forgotten (an increment past 2^31-1 is no longer detectable), while the
    /// rules that need no history still hold; a stream closed within the bound keeps its full history.
    /// </summary>
    [Fact]
    public async Task A_stream_closed_long_ago_is_judged_like_a_skipped_id()
    {
        await using var c = await ConnectAsync();
        await Get(c, 1);
        await c.ReadResponseAsync(1);

        // Stream 1's static response closed it inline; this many later closes push it out of the memory.
        int capacity = Http2ClosedStreams.CapacityFor(new Http2Options().MaxConcurrentStreams);
        int id = 1;
        for (int sent = 0; sent < capacity;)
        {
            var batch = new List<int>();
            for (int i = 0; i < 50 && sent < capacity; i++, sent++)
            {
                id += 2;
                batch.Add(id);
                await Get(c, id);
            }

            foreach (var s in batch)
            {
                await c.ReadResponseAsync(s);
            }
        }

        int recent = id;
        int from = c.Received.Count;
        await WindowUpdate(c, recent, 0x7FFFFFFF);
        await ExpectAsync(c, from, Outcome.StreamError(recent, H2.FlowControlError), "overflow on a remembered stream");

        from = c.Received.Count;
        await WindowUpdate(c, 1, 0x7FFFFFFF);
        await ExpectAsync(c, from, Outcome.Accepted, "overflow on a forgotten stream");

        from = c.Received.Count;
        await WindowUpdate(c, 1, 0);
        await ExpectAsync(c, from, Outcome.StreamError(1, H2.ProtocolError), "WINDOW_UPDATE 0 on a forgotten stream");

        from = c.Received.Count;
        await Data(c, 1);
        await ExpectAsync(c, from, Outcome.StreamError(1, H2.StreamClosed), "DATA on a forgotten stream");

        from = c.Received.Count;
        await Trailers(c, 1);
        await ExpectAsync(c, from, Outcome.ConnectionError(H2.ProtocolError), "HEADERS on a forgotten stream");
    }

    private async Task<H2RawClient> ConnectAsync()
    {
        var c = await H2RawClient.ConnectAsync(_server.Port);
        await c.ExpectAsync(f => f.Type == H2.Settings && !f.Has(H2.Ack), "server SETTINGS");
        return c;
    }

    /// <summary>Reads what the server sends on stream 1 without being asked again: a route that waits sends nothing while the request is open.</summary>
    private static async Task WaitForTheServerAsync(H2RawClient c, Route route, bool endRequest)
    {
        if (route == Route.WaitsForBody && !endRequest)
        {
            return;
        }

        (await c.ReadResponseAsync(1)).Status.Should().Be(200);
        if (!endRequest)
        {
            // RFC 9113 §8.1: the response ended before the request did; the server tells the client to stop sending.
            var rst = await c.ExpectAsync(f => f.Type is H2.RstStream or H2.GoAway && (f.StreamId == 1 || f.Type == H2.GoAway), "RST_STREAM NO_ERROR");
            rst.Type.Should().Be(H2.RstStream);
            rst.ErrorCode.Should().Be(H2.NoError);
        }
    }

    /// <summary>
    /// Checks the answer to the frames sent since <paramref name="from"/>. A PING sent after them comes back after every
    /// answer to them (one read loop, one queue), so "no answer" is known without waiting for a timeout.
    /// </summary>
    private static async Task ExpectAsync(H2RawClient c, int from, Outcome expected, string name)
    {
        if (expected.Kind == Kind.ConnectionError)
        {
            var goAway = await c.ExpectGoAwayAsync();
            goAway.ErrorCode.Should().Be(expected.Code, "{0}: got {1}", name, Received(c, from));
            (await c.ClosedAsync()).Should().BeTrue("a connection error closes the connection (RFC 9113 §5.4.1)");
            return;
        }

        await c.SendFrameAsync(H2.Ping, 0, 0, SettledPing);
        await c.ExpectAsync(f => (f.Type == H2.Ping && f.Has(H2.Ack) && f.Payload.AsSpan().SequenceEqual(SettledPing)) || f.Type == H2.GoAway, "PING ACK");

        // RST_STREAM NO_ERROR ends an early response (§8.1); it answers nothing the client sent.
        var errors = c.Received.Skip(from).Where(f => f.Type == H2.GoAway || (f.Type == H2.RstStream && f.ErrorCode != H2.NoError)).ToList();
        if (expected.Kind == Kind.Accepted)
        {
            errors.Should().BeEmpty("{0}: these frames are legal here; got {1}", name, Received(c, from));
        }
        else
        {
            errors.Should().ContainSingle("{0}: exactly one stream error (RFC 9113 §5.4); got {1}", name, Received(c, from));
            errors[0].Type.Should().Be(H2.RstStream, "{0}: a stream error, not {1}", name, errors[0]);
            errors[0].StreamId.Should().Be(expected.Stream, name);
            errors[0].ErrorCode.Should().Be(expected.Code, "{0}: got {1}", name, errors[0]);
        }

        // Either way the connection goes on serving.
        int next = c.Received.Where(f => f.StreamId % 2 == 1).Select(f => f.StreamId).DefaultIfEmpty(1).Max() + 100;
        await Get(c, next);
        (await c.ReadResponseAsync(next)).Status.Should().Be(200);
    }

    private static string Received(H2RawClient c, int from) => string.Join(", ", c.Received.Skip(from));
}

public sealed class Http2StreamStateTestsOnSockets : Http2StreamStateTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class Http2StreamStateTestsOnIoUring : Http2StreamStateTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class Http2StreamStateTestsOnEpoll : Http2StreamStateTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
