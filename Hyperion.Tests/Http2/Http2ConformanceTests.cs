using System.Text;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Http2;

/// <summary>
/// RFC 9113 §3–§8 as a table: one line per rule a client can break (frames sent → the GOAWAY or RST_STREAM
/// error code the RFC demands), plus the positive rules (ignore unknown frames and flags, answer PING and
/// SETTINGS, accept PRIORITY, CONTINUATION). Driven by a raw frame client over loopback h2c.
/// </summary>
public abstract class Http2ConformanceTests : TransportTests, IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await StartAsync(s =>
        {
            s.UseHttp2();
            s.HandleStatic("GET", "/static", "ok");
            s.Handle("GET", "/hold", _ => RackResponse.Streaming(200, null, async w => await Task.Delay(Timeout.Infinite, w.Aborted)));
            s.Handle("POST", "/hold", _ => RackResponse.Streaming(200, null, async w => await Task.Delay(Timeout.Infinite, w.Aborted)));
            s.Handle("POST", "/echo", async env =>
            {
                var ms = new MemoryStream();
                await env.Body.CopyToAsync(ms);
                return RackResponse.Bytes(200, ms.ToArray());
            });
        });
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    /// <summary>What the server must answer.</summary>
    public sealed record Outcome(uint? GoAway, int Stream, uint RstCode, int Status)
    {
        public static Outcome ConnectionError(uint code) => new(code, 0, 0, 0);

        public static Outcome StreamError(int stream, uint code) => new(null, stream, code, 0);

        public static Outcome Answered(int stream, int status) => new(null, stream, 0, status);
    }

    private static readonly byte[] Data5 = "hello"u8.ToArray();

    private static Task Get(H2RawClient c, int stream = 1, string path = "/static") => c.SendHeadersAsync(stream, true, H2.Get(path));

    private static Task Hold(H2RawClient c, int stream = 1) => c.SendHeadersAsync(stream, false, H2.Post("/hold"));

    private static async Task HoldAnswered(H2RawClient c, int stream = 1)
    {
        await c.SendHeadersAsync(stream, true, H2.Get("/hold"));
        await c.ExpectAsync(f => f.Type == H2.Headers && f.StreamId == stream, "response headers");
    }

    private static Task Send(H2RawClient c, byte type, byte flags, int stream, byte[] payload) => c.SendFrameAsync(type, flags, stream, payload);

    private static Task Malformed(H2RawClient c, params (string, string)[] fields) => c.SendHeadersAsync(1, true, fields);

    private static readonly (string, string)[] Pseudo = [(":method", "GET"), (":scheme", "http"), (":path", "/static")];

    public static readonly Dictionary<string, (Func<H2RawClient, Task> Act, Outcome Expected)> Cases = new()
    {
        // §3.4 preface

        // §4.1, §5.5 extensibility: unknown types and flags, the reserved bit
        ["4.1 unknown frame type is ignored"] = (async c => { await Send(c, 0xBB, 0xFF, 1, Data5); await Get(c); }, Outcome.Answered(1, 200)),
        ["4.1 undefined flags are ignored"] = (async c => { await Send(c, H2.Ping, 0xFE, 0, new byte[8]); await Get(c); }, Outcome.Answered(1, 200)),
        ["4.1 reserved bit in stream id is ignored"] = (c => c.SendAsync(SetReserved(H2.Frame(H2.Headers, H2.EndHeaders | H2.EndStream, 1, H2.Block(H2.Get())))), Outcome.Answered(1, 200)),

        // §4.2 frame size
        ["4.2 DATA over SETTINGS_MAX_FRAME_SIZE"] = (async c => { await Hold(c); await Send(c, H2.Data, 0, 1, new byte[16385]); }, Outcome.ConnectionError(H2.FrameSizeError)),
        ["4.2 HEADERS over SETTINGS_MAX_FRAME_SIZE"] = (c => Send(c, H2.Headers, H2.EndHeaders, 1, new byte[16385]), Outcome.ConnectionError(H2.FrameSizeError)),

        // §4.3 field blocks
        ["4.3 undecodable field block (index 0)"] = (c => Send(c, H2.Headers, H2.EndHeaders | H2.EndStream, 1, [0x80]), Outcome.ConnectionError(H2.CompressionError)),
        ["4.3 index beyond the tables"] = (c => Send(c, H2.Headers, H2.EndHeaders | H2.EndStream, 1, [0xFF, 0x7F]), Outcome.ConnectionError(H2.CompressionError)),
        ["4.3 table size update above SETTINGS_HEADER_TABLE_SIZE"] = (c => Send(c, H2.Headers, H2.EndHeaders | H2.EndStream, 1, [0x3F, 0xE1, 0x7F, .. H2.Block(H2.Get())]), Outcome.ConnectionError(H2.CompressionError)),
        ["4.3 frame interleaved in a field block"] = (async c => { await Send(c, H2.Headers, H2.EndStream, 1, H2.Block(H2.Get())); await Send(c, H2.Ping, 0, 0, new byte[8]); }, Outcome.ConnectionError(H2.ProtocolError)),
        ["5.5 unknown frame type inside a field block"] = (async c => { await Send(c, H2.Headers, H2.EndStream, 1, H2.Block(H2.Get())); await Send(c, 0xBB, 0, 1, Data5); }, Outcome.ConnectionError(H2.ProtocolError)),

        // §5.1 stream states
        ["5.1 idle: DATA"] = (c => Send(c, H2.Data, 0, 1, Data5), Outcome.ConnectionError(H2.ProtocolError)),
        ["5.1 idle: RST_STREAM"] = (c => Send(c, H2.RstStream, 0, 1, H2.U32(H2.Cancel)), Outcome.ConnectionError(H2.ProtocolError)),
        ["5.1 idle: WINDOW_UPDATE"] = (c => Send(c, H2.WindowUpdate, 0, 1, H2.U32(1)), Outcome.ConnectionError(H2.ProtocolError)),
        ["5.1 idle: CONTINUATION"] = (c => Send(c, H2.Continuation, H2.EndHeaders, 1, H2.Block(H2.Get())), Outcome.ConnectionError(H2.ProtocolError)),
        ["5.1 half-closed (remote): DATA"] = (async c => { await HoldAnswered(c); await Send(c, H2.Data, 0, 1, Data5); }, Outcome.StreamError(1, H2.StreamClosed)),
        ["5.1 half-closed (remote): HEADERS"] = (async c => { await HoldAnswered(c); await c.SendHeadersAsync(1, true, ("x", "y")); }, Outcome.StreamError(1, H2.StreamClosed)),
        // Closed after the client's own END_STREAM or RST_STREAM: the same stream error as half-closed (remote), so the
        // answer does not depend on whether our response had ended (Http2StreamStateTests runs these per route and timing).
        ["5.1 closed: DATA after both sides ended"] = (async c => { await Get(c); await c.ReadResponseAsync(1); await Send(c, H2.Data, 0, 1, Data5); }, Outcome.StreamError(1, H2.StreamClosed)),
        ["5.1 closed: HEADERS after both sides ended"] = (async c => { await Get(c); await c.ReadResponseAsync(1); await Get(c); }, Outcome.StreamError(1, H2.StreamClosed)),
        ["5.1 closed: DATA after the client's RST_STREAM"] = (async c => { await Hold(c); await Send(c, H2.RstStream, 0, 1, H2.U32(H2.Cancel)); await Send(c, H2.Data, 0, 1, Data5); }, Outcome.StreamError(1, H2.StreamClosed)),
        ["5.1 closed: WINDOW_UPDATE and PRIORITY after close are ignored"] = (async c => { await Get(c); await c.ReadResponseAsync(1); await Send(c, H2.WindowUpdate, 0, 1, H2.U32(10)); await Send(c, H2.Priority, 0, 1, [0, 0, 0, 0, 16]); await Get(c, 3); }, Outcome.Answered(3, 200)),

        // §5.1.1 stream identifiers
        ["5.1.1 even stream id"] = (c => Get(c, 2), Outcome.ConnectionError(H2.ProtocolError)),
        ["5.1.1 stream id lower than one already used"] = (async c => { await Get(c, 5); await Get(c, 3); }, Outcome.ConnectionError(H2.ProtocolError)),
        ["5.1.1 skipped ids are closed, not reusable"] = (async c => { await Get(c, 5); await c.ReadResponseAsync(5); await Get(c, 1); }, Outcome.ConnectionError(H2.ProtocolError)),

        // §6.1 DATA
        ["6.1 DATA on stream 0"] = (c => Send(c, H2.Data, 0, 0, Data5), Outcome.ConnectionError(H2.ProtocolError)),
        ["6.1 DATA padding as long as the payload"] = (async c => { await Hold(c); await Send(c, H2.Data, H2.Padded, 1, [6, 1, 2, 3, 4, 5]); }, Outcome.ConnectionError(H2.ProtocolError)),
        ["6.1 padded DATA counts and the body arrives"] = (async c => { await c.SendHeadersAsync(1, false, H2.Post("/echo")); await Send(c, H2.Data, H2.Padded | H2.EndStream, 1, [3, .. Data5, 0, 0, 0]); }, Outcome.Answered(1, 200)),

        // §6.2 HEADERS
        ["6.2 HEADERS on stream 0"] = (c => Send(c, H2.Headers, H2.EndHeaders, 0, H2.Block(H2.Get())), Outcome.ConnectionError(H2.ProtocolError)),
        ["6.2 HEADERS padding too long"] = (c => Send(c, H2.Headers, H2.EndHeaders | H2.Padded, 1, [100, .. H2.Block(H2.Get())]), Outcome.ConnectionError(H2.ProtocolError)),
        ["6.2 padded HEADERS with priority are served"] = (c => Send(c, H2.Headers, H2.EndHeaders | H2.EndStream | H2.Padded | H2.PriorityFlag, 1, [2, 0, 0, 0, 0, 16, .. H2.Block(H2.Get()), 0, 0]), Outcome.Answered(1, 200)),
        ["5.3.1 HEADERS depending on itself"] = (c => Send(c, H2.Headers, H2.EndHeaders | H2.EndStream | H2.PriorityFlag, 1, [0, 0, 0, 1, 16, .. H2.Block(H2.Get())]), Outcome.StreamError(1, H2.ProtocolError)),

        // §6.3 PRIORITY
        ["6.3 PRIORITY on stream 0"] = (c => Send(c, H2.Priority, 0, 0, [0, 0, 0, 1, 16]), Outcome.ConnectionError(H2.ProtocolError)),
        ["6.3 PRIORITY of length 4"] = (c => Send(c, H2.Priority, 0, 1, [0, 0, 0, 3]), Outcome.StreamError(1, H2.FrameSizeError)),
        ["6.3 PRIORITY on an idle stream does not open it"] = (async c => { await Send(c, H2.Priority, 0, 9, [0, 0, 0, 0, 16]); await Get(c, 1); }, Outcome.Answered(1, 200)),
        ["6.3 PRIORITY depending on itself"] = (async c => { await HoldAnswered(c); await Send(c, H2.Priority, 0, 1, [0, 0, 0, 1, 16]); }, Outcome.StreamError(1, H2.ProtocolError)),

        // §6.4 RST_STREAM
        ["6.4 RST_STREAM on stream 0"] = (c => Send(c, H2.RstStream, 0, 0, H2.U32(H2.Cancel)), Outcome.ConnectionError(H2.ProtocolError)),
        ["6.4 RST_STREAM of length 3"] = (async c => { await Hold(c); await Send(c, H2.RstStream, 0, 1, [0, 0, 8]); }, Outcome.ConnectionError(H2.FrameSizeError)),
        ["6.4 RST_STREAM closes the stream and the connection goes on"] = (async c => { await Hold(c); await Send(c, H2.RstStream, 0, 1, H2.U32(H2.Cancel)); await Get(c, 3); }, Outcome.Answered(3, 200)),

        // §6.5 SETTINGS
        ["6.5 SETTINGS ACK with a payload"] = (c => Send(c, H2.Settings, H2.Ack, 0, H2.Setting(1, 1)), Outcome.ConnectionError(H2.FrameSizeError)),
        ["6.5 SETTINGS on a stream"] = (c => Send(c, H2.Settings, 0, 1, []), Outcome.ConnectionError(H2.ProtocolError)),
        ["6.5 SETTINGS length not a multiple of 6"] = (c => Send(c, H2.Settings, 0, 0, [0, 1, 0, 0, 0]), Outcome.ConnectionError(H2.FrameSizeError)),
        ["6.5.2 ENABLE_PUSH of 2"] = (c => Send(c, H2.Settings, 0, 0, H2.Setting(2, 2)), Outcome.ConnectionError(H2.ProtocolError)),
        ["6.5.2 INITIAL_WINDOW_SIZE above 2^31-1"] = (c => Send(c, H2.Settings, 0, 0, H2.Setting(4, 0x80000000)), Outcome.ConnectionError(H2.FlowControlError)),
        ["6.5.2 MAX_FRAME_SIZE below 16384"] = (c => Send(c, H2.Settings, 0, 0, H2.Setting(5, 16383)), Outcome.ConnectionError(H2.ProtocolError)),
        ["6.5.2 MAX_FRAME_SIZE above 2^24-1"] = (c => Send(c, H2.Settings, 0, 0, H2.Setting(5, 1 << 24)), Outcome.ConnectionError(H2.ProtocolError)),
        ["6.5.2 unknown setting is ignored"] = (async c => { await Send(c, H2.Settings, 0, 0, H2.Setting(0x99, 7)); await Get(c); }, Outcome.Answered(1, 200)),
        ["6.5.3 SETTINGS_HEADER_TABLE_SIZE 0 is honoured by the encoder"] = (async c => { await Send(c, H2.Settings, 0, 0, H2.Setting(1, 0)); await Get(c); }, Outcome.Answered(1, 200)),

        // §6.6, §8.4 PUSH_PROMISE
        ["8.4 PUSH_PROMISE from a client"] = (c => Send(c, H2.PushPromise, H2.EndHeaders, 1, [0, 0, 0, 2, .. H2.Block(H2.Get())]), Outcome.ConnectionError(H2.ProtocolError)),

        // §6.7 PING
        ["6.7 PING on a stream"] = (c => Send(c, H2.Ping, 0, 1, new byte[8]), Outcome.ConnectionError(H2.ProtocolError)),
        ["6.7 PING of length 7"] = (c => Send(c, H2.Ping, 0, 0, new byte[7]), Outcome.ConnectionError(H2.FrameSizeError)),

        // §6.8 GOAWAY
        ["6.8 GOAWAY on a stream"] = (c => Send(c, H2.GoAway, 0, 1, new byte[8]), Outcome.ConnectionError(H2.ProtocolError)),
        ["6.8 GOAWAY shorter than 8"] = (c => Send(c, H2.GoAway, 0, 0, new byte[4]), Outcome.ConnectionError(H2.FrameSizeError)),

        // §6.9 WINDOW_UPDATE and flow control
        ["6.9 WINDOW_UPDATE of 0 on the connection"] = (c => Send(c, H2.WindowUpdate, 0, 0, H2.U32(0)), Outcome.ConnectionError(H2.ProtocolError)),
        ["6.9 WINDOW_UPDATE of 0 on a stream"] = (async c => { await HoldAnswered(c); await Send(c, H2.WindowUpdate, 0, 1, H2.U32(0)); }, Outcome.StreamError(1, H2.ProtocolError)),
        ["6.9 WINDOW_UPDATE of length 3"] = (c => Send(c, H2.WindowUpdate, 0, 0, [0, 0, 1]), Outcome.ConnectionError(H2.FrameSizeError)),
        ["6.9.1 connection window above 2^31-1"] = (c => Send(c, H2.WindowUpdate, 0, 0, H2.U32(0x7FFFFFFF)), Outcome.ConnectionError(H2.FlowControlError)),
        ["6.9.1 stream window above 2^31-1"] = (async c => { await HoldAnswered(c); await Send(c, H2.WindowUpdate, 0, 1, H2.U32(0x7FFFFFFF)); }, Outcome.StreamError(1, H2.FlowControlError)),
        ["6.9.1 DATA beyond the stream window"] = (async c => { await Hold(c); for (int i = 0; i < 17; i++) { await Send(c, H2.Data, 0, 1, new byte[16384]); } }, Outcome.StreamError(1, H2.FlowControlError)),
        ["6.9.1 DATA beyond the connection window"] = (async c => { for (int s = 1; s <= 9; s += 2) { await Hold(c, s); for (int i = 0; i < 15; i++) { await Send(c, H2.Data, 0, s, new byte[16384]); } } }, Outcome.ConnectionError(H2.FlowControlError)),
        ["6.9.2 INITIAL_WINDOW_SIZE change overflowing an open stream"] = (async c => { await HoldAnswered(c); await Send(c, H2.WindowUpdate, 0, 1, H2.U32(0x7FFFFFFF - 65535)); await Send(c, H2.Settings, 0, 0, H2.Setting(4, 65536)); }, Outcome.ConnectionError(H2.FlowControlError)),

        // §6.10 CONTINUATION
        ["6.10 CONTINUATION after END_HEADERS"] = (async c => { await Hold(c); await Send(c, H2.Continuation, H2.EndHeaders, 1, H2.Block(("x", "y"))); }, Outcome.ConnectionError(H2.ProtocolError)),
        ["6.10 CONTINUATION on another stream"] = (async c => { await Send(c, H2.Headers, H2.EndStream, 1, H2.Block(H2.Get())); await Send(c, H2.Continuation, H2.EndHeaders, 3, H2.Block(("x", "y"))); }, Outcome.ConnectionError(H2.ProtocolError)),
        ["6.10 CONTINUATION on stream 0"] = (async c => { await Send(c, H2.Headers, H2.EndStream, 1, H2.Block(H2.Get())); await Send(c, H2.Continuation, H2.EndHeaders, 0, []); }, Outcome.ConnectionError(H2.ProtocolError)),
        ["6.10 HEADERS + CONTINUATION + CONTINUATION are served"] = (async c =>
        {
            var block = H2.Block(H2.Get());
            await Send(c, H2.Headers, H2.EndStream, 1, block[..5]);
            await Send(c, H2.Continuation, 0, 1, block[5..10]);
            await Send(c, H2.Continuation, H2.EndHeaders, 1, block[10..]);
        }, Outcome.Answered(1, 200)),

        // §8.1 message framing
        ["8.1 second HEADERS without END_STREAM"] = (async c => { await Hold(c); await c.SendHeadersAsync(1, false, ("x-trailer", "1")); }, Outcome.StreamError(1, H2.ProtocolError)),
        ["8.1 trailers with a pseudo-header"] = (async c => { await Hold(c); await c.SendHeadersAsync(1, true, (":path", "/x")); }, Outcome.StreamError(1, H2.ProtocolError)),
        ["8.1 trailers end the request"] = (async c => { await c.SendHeadersAsync(1, false, H2.Post("/echo")); await Send(c, H2.Data, 0, 1, Data5); await c.SendHeadersAsync(1, true, ("x-sum", "1")); }, Outcome.Answered(1, 200)),
        ["8.1.1 DATA shorter than content-length"] = (async c => { await c.SendHeadersAsync(1, false, H2.Post("/echo", ("content-length", "10"))); await Send(c, H2.Data, H2.EndStream, 1, Data5); }, Outcome.StreamError(1, H2.ProtocolError)),
        ["8.1.1 DATA longer than content-length"] = (async c => { await c.SendHeadersAsync(1, false, H2.Post("/echo", ("content-length", "1"))); await Send(c, H2.Data, H2.EndStream, 1, Data5); }, Outcome.StreamError(1, H2.ProtocolError)),
        ["8.1.1 END_STREAM on HEADERS with content-length > 0"] = (c => c.SendHeadersAsync(1, true, H2.Post("/echo", ("content-length", "3"))), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.1.1 content-length matching DATA is served"] = (async c => { await c.SendHeadersAsync(1, false, H2.Post("/echo", ("content-length", "5"))); await Send(c, H2.Data, H2.EndStream, 1, Data5); }, Outcome.Answered(1, 200)),

        // §8.2 fields
        ["8.2.1 uppercase field name"] = (c => Malformed(c, [.. H2.Get(), ("X-Upper", "1")]), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.2.1 space in a field name"] = (c => Malformed(c, [.. H2.Get(), ("x y", "1")]), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.2.1 colon inside a regular name"] = (c => Malformed(c, [.. H2.Get(), ("x:y", "1")]), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.2.1 empty field name"] = (c => Malformed(c, [.. H2.Get(), ("", "1")]), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.2.1 CR LF in a value"] = (c => Malformed(c, [.. H2.Get(), ("x", "a\r\nb: c")]), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.2.1 NUL in a value"] = (c => Malformed(c, [.. H2.Get(), ("x", "a\0b")]), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.2.1 leading space in a value"] = (c => Malformed(c, [.. H2.Get(), ("x", " a")]), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.2.1 trailing tab in a value"] = (c => Malformed(c, [.. H2.Get(), ("x", "a\t")]), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.2.2 connection"] = (c => Malformed(c, [.. H2.Get(), ("connection", "keep-alive")]), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.2.2 keep-alive"] = (c => Malformed(c, [.. H2.Get(), ("keep-alive", "5")]), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.2.2 proxy-connection"] = (c => Malformed(c, [.. H2.Get(), ("proxy-connection", "close")]), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.2.2 transfer-encoding"] = (c => Malformed(c, [.. H2.Get(), ("transfer-encoding", "chunked")]), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.2.2 upgrade"] = (c => Malformed(c, [.. H2.Get(), ("upgrade", "h2c")]), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.2.2 te other than trailers"] = (c => Malformed(c, [.. H2.Get(), ("te", "gzip")]), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.2.2 te: trailers is allowed"] = (c => Malformed(c, [.. H2.Get(), ("te", "trailers")]), Outcome.Answered(1, 200)),

        // §8.3 pseudo-headers
        ["8.3 pseudo-header after a regular field"] = (c => Malformed(c, (":method", "GET"), (":scheme", "http"), ("x", "1"), (":path", "/static")), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.3 duplicate :method"] = (c => Malformed(c, [.. Pseudo, (":method", "GET")]), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.3 duplicate :path"] = (c => Malformed(c, [.. Pseudo, (":path", "/static")]), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.3 duplicate :scheme"] = (c => Malformed(c, [.. Pseudo, (":scheme", "http")]), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.3 duplicate :authority"] = (c => Malformed(c, [.. Pseudo, (":authority", "a"), (":authority", "a")]), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.3 unknown pseudo-header"] = (c => Malformed(c, [.. Pseudo, (":foo", "bar")]), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.3 response pseudo-header in a request"] = (c => Malformed(c, [.. Pseudo, (":status", "200")]), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.3.1 missing :method"] = (c => Malformed(c, (":scheme", "http"), (":path", "/static")), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.3.1 missing :scheme"] = (c => Malformed(c, (":method", "GET"), (":path", "/static")), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.3.1 missing :path"] = (c => Malformed(c, (":method", "GET"), (":scheme", "http")), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.3.1 empty :path"] = (c => Malformed(c, (":method", "GET"), (":scheme", "http"), (":path", "")), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.3.1 host differing from :authority"] = (c => Malformed(c, [.. Pseudo, (":authority", "a.example"), ("host", "b.example")]), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.3.1 without :authority, host is used"] = (c => Malformed(c, [.. Pseudo, ("host", "b.example")]), Outcome.Answered(1, 200)),
        ["8.5 CONNECT with :path"] = (c => Malformed(c, (":method", "CONNECT"), (":authority", "a:443"), (":path", "/")), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.5 CONNECT without :authority"] = (c => Malformed(c, (":method", "CONNECT")), Outcome.StreamError(1, H2.ProtocolError)),
        ["8.5 well-formed CONNECT is not implemented"] = (c => Malformed(c, (":method", "CONNECT"), (":authority", "a:443")), Outcome.Answered(1, 501)),
    };

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var name in Cases.Keys)
        {
            data.Add(name);
        }

        return data;
    }

    private static byte[] SetReserved(byte[] frame)
    {
        frame[5] |= 0x80;
        return frame;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Rule(string name)
    {
        var (act, expected) = Cases[name];
        await using var c = await H2RawClient.ConnectAsync(_server.Port);
        await c.ExpectAsync(f => f.Type == H2.Settings && !f.Has(H2.Ack), "server SETTINGS");
        await act(c);
        if (expected.GoAway is uint code)
        {
            var goAway = await c.ExpectGoAwayAsync();
            goAway.ErrorCode.Should().Be(code, "{0}: got {1}", name, goAway);
            (await c.ClosedAsync()).Should().BeTrue("a connection error closes the connection (RFC 9113 §5.4.1)");
        }
        else if (expected.Status == 0)
        {
            var rst = await c.ExpectRstAsync(expected.Stream);
            rst.Type.Should().Be(H2.RstStream, "{0}: a stream error, not {1}", name, rst);
            rst.ErrorCode.Should().Be(expected.RstCode);

            // A stream error leaves the connection usable.
            await c.SendHeadersAsync(101, true, H2.Get());
            (await c.ReadResponseAsync(101)).Status.Should().Be(200);
        }
        else
        {
            (await c.ReadResponseAsync(expected.Stream)).Status.Should().Be(expected.Status);
        }
    }

    [Fact]
    public async Task First_frame_after_the_preface_must_be_settings()
    {
        // RFC 9113 §3.4: a preface not followed by SETTINGS is invalid: PROTOCOL_ERROR.
        await using var c = await H2RawClient.ConnectAsync(_server.Port, handshake: false);
        await c.SendAsync(H2RawClient.Preface, H2.Frame(H2.Ping, 0, 0, new byte[8]));
        (await c.ExpectGoAwayAsync()).ErrorCode.Should().Be(H2.ProtocolError);
        (await c.ClosedAsync()).Should().BeTrue();
    }

    [Fact]
    public async Task Ping_is_echoed_with_ack_and_the_same_payload()
    {
        await using var c = await H2RawClient.ConnectAsync(_server.Port);
        byte[] payload = Encoding.ASCII.GetBytes("12345678");
        await c.SendFrameAsync(H2.Ping, 0, 0, payload);
        var ack = await c.ExpectAsync(f => f.Type == H2.Ping, "PING ACK");
        ack.Has(H2.Ack).Should().BeTrue();
        ack.Payload.Should().Equal(payload);
    }

    [Fact]
    public async Task Server_preface_is_settings_first_and_client_settings_are_acked()
    {
        await using var c = await H2RawClient.ConnectAsync(_server.Port);
        var first = await c.ReadFrameAsync();
        first!.Type.Should().Be(H2.Settings);
        first.Has(H2.Ack).Should().BeFalse();
        await c.ExpectAsync(f => f.Type == H2.Settings && f.Has(H2.Ack), "SETTINGS ACK");
    }

    [Fact]
    public async Task Initial_window_raised_by_settings_unblocks_a_waiting_response()
    {
        await using var ts = await StartAsync(s =>
        {
            s.UseHttp2();
            s.Handle("GET", "/big", _ => RackResponse.Bytes(200, new byte[50_000]));
        });

        // RFC 9113 §6.9.2: a SETTINGS_INITIAL_WINDOW_SIZE change applies to streams already open.
        await using var c = await H2RawClient.ConnectAsync(ts.Port, true, H2.Setting(4, 0));
        await c.SendHeadersAsync(1, true, H2.Get("/big"));
        await c.ExpectAsync(f => f.Type == H2.Headers && f.StreamId == 1, "response headers");
        await c.SendFrameAsync(H2.Settings, 0, 0, H2.Setting(4, 100_000));
        var response = await c.ReadResponseAsync(1);
        response.Body.Length.Should().Be(50_000);
    }

    [Fact]
    public async Task Response_frames_respect_a_small_peer_max_frame_size_and_window()
    {
        await using var ts = await StartAsync(s =>
        {
            s.UseHttp2();
            s.Handle("GET", "/big", _ => RackResponse.Bytes(200, new byte[100_000]));
        });

        // The client allows 16384-octet frames and a 1000-octet stream window; it reads and opens the window as it goes.
        await using var c = await H2RawClient.ConnectAsync(ts.Port, true, H2.Setting(4, 1000));
        await c.SendHeadersAsync(1, true, H2.Get("/big"));
        var response = await c.ReadResponseAsync(1);
        response.Body.Length.Should().Be(100_000);
        c.Received.Where(f => f.Type == H2.Data).Should().OnlyContain(f => f.Length <= 16384);
        c.Received.Where(f => f.Type == H2.Data).Max(f => f.Length).Should().BeLessThanOrEqualTo(1000);
    }
}

public sealed class Http2ConformanceTestsOnSockets : Http2ConformanceTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class Http2ConformanceTestsOnIoUring : Http2ConformanceTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class Http2ConformanceTestsOnEpoll : Http2ConformanceTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
