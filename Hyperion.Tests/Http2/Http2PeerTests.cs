using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Hyperion;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Native;

namespace Hyperion.Tests.Http2;

/// <summary>
/// Real HTTP/2 peers against h2c on the HTTP/1.1 port: curl (prior knowledge and Upgrade), nghttp, h2load,
/// and python3-h2 as a strict state machine that raises on any protocol violation of ours.
/// </summary>
public abstract class Http2PeerTests : TransportTests, IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await StartAsync(s =>
        {
            s.UseHttp2();
            s.HandleStatic("GET", "/static", "static ok");
            s.Handle("GET", "/dynamic", env => RackResponse.Text(200, $"{env.Protocol} {env.QueryString}"));
            s.Handle("GET", "/trailers", _ => RackResponse.Text(200, "t").WithTrailers([("x-trailer", "yes")]));
            s.Handle("POST", "/now", _ => RackResponse.Text(200, "now"));
            s.Handle("POST", "/echo", async env =>
            {
                var ms = new MemoryStream();
                await env.Body.CopyToAsync(ms);
                return RackResponse.Bytes(200, ms.ToArray());
            });
            s.Run(env => ValueTask.FromResult(RackResponse.Text(200, "app " + env.Protocol)));
        });
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static Task<(int Code, string Out, string Err)> RunAsync(string file, params string[] args) => ToolProcess.RunAsync(file, args);

    private string Url(string path) => $"http://127.0.0.1:{_server.Port}{path}";

    [RequiresToolFact("curl")]
    public async Task Curl_prior_knowledge()
    {
        var (code, output, err) = await RunAsync("curl", "-sS", "--http2-prior-knowledge", "-w", "\n%{http_version} %{http_code}", Url("/dynamic?q=1"));
        code.Should().Be(0, err);
        output.Should().Be("HTTP/2 q=1\n2 200");
    }

    [RequiresToolFact("curl")]
    public async Task Curl_upgrade_from_http11()
    {
        var (code, output, err) = await RunAsync("curl", "-sS", "-v", "--http2", "-w", "\n%{http_version} %{http_code}", Url("/dynamic?u=1"));
        code.Should().Be(0, err);
        err.Should().Contain("101 Switching Protocols");
        output.Should().Be("HTTP/2 u=1\n2 200");
    }

    [RequiresToolFact("curl")]
    public async Task Curl_upload_with_body_stays_http11_and_is_served()
    {
        // A request with a body is not upgraded (we would have to buffer it); it is answered over HTTP/1.1.
        var (code, output, err) = await RunAsync("curl", "-sS", "--http2", "-d", "abc", "-w", "\n%{http_version} %{http_code}", Url("/echo"));
        code.Should().Be(0, err);
        output.Should().Be("abc\n1.1 200");
    }

    [RequiresToolFact("nghttp")]
    public async Task Nghttp_verbose_conversation()
    {
        var (code, output, err) = await RunAsync("nghttp", "-nv", Url("/static"), Url("/trailers"));
        code.Should().Be(0, output + err);
        output.Should().Contain("recv SETTINGS frame").And.Contain(":status: 200").And.Contain("x-trailer: yes");
        output.Should().NotContain("PROTOCOL_ERROR").And.NotContain("recv GOAWAY").And.NotContain("recv RST_STREAM");
    }

    [RequiresToolFact("nghttp")]
    public async Task Nghttp_upgrade()
    {
        var (code, output, err) = await RunAsync("nghttp", "-nvu", Url("/static"));
        code.Should().Be(0, output + err);
        output.Should().Contain("HTTP Upgrade success").And.Contain(":status: 200");
    }

    [RequiresToolFact("h2load")]
    public async Task H2load_2000_requests_all_2xx()
    {
        var (code, output, err) = await RunAsync("h2load", "-n", "2000", "-c", "4", "-m", "10", Url("/static"));
        code.Should().Be(0, err);
        output.Should().Contain("2000 succeeded, 0 failed, 0 errored").And.Contain("status codes: 2000 2xx");
    }

    [RequiresToolFact("h2load")]
    public async Task H2load_against_the_app_with_request_bodies()
    {
        var data = Path.Combine(Path.GetTempPath(), $"h2load-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(data, new byte[10_000]);
        try
        {
            var (code, output, err) = await RunAsync("h2load", "-n", "400", "-c", "2", "-m", "8", "-d", data, Url("/echo"));
            code.Should().Be(0, err);
            output.Should().Contain("400 succeeded, 0 failed, 0 errored").And.Contain("status codes: 400 2xx");
        }
        finally
        {
            File.Delete(data);
        }
    }

    private async Task<JsonElement> PeerAsync(params string[] args)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Http2", "h2peer.py");
        var (code, output, err) = await RunAsync(PythonH2.Python, [script, _server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. args]);
        code.Should().Be(0, err);
        return JsonDocument.Parse(output).RootElement;
    }

    [RequiresPythonH2Fact]
    public async Task Python_h2_strict_conversation()
    {
        var r = await PeerAsync("conversation");
        r.GetProperty("/static").GetProperty("status").GetString().Should().Be("200");
        r.GetProperty("/static").GetProperty("body").GetString().Should().Be("static ok");
        r.GetProperty("/dynamic?x=1").GetProperty("body").GetString().Should().Be("HTTP/2 x=1");
        r.GetProperty("/trailers").GetProperty("trailers").GetProperty("x-trailer").GetString().Should().Be("yes");
        r.GetProperty("/missing").GetProperty("body").GetString().Should().Be("app HTTP/2");
        r.GetProperty("/echo").GetProperty("length").GetInt32().Should().Be(100_000);
    }

    [RequiresPythonH2Fact]
    public async Task Python_h2_sees_stream_reset_for_an_uppercase_field()
    {
        var r = await PeerAsync("malformed");
        r.GetProperty("rst").GetInt32().Should().Be((int)H2.ProtocolError);
    }

    public static TheoryData<string, byte[], uint> PeerErrorCases() => new()
    {
        { "PING on a stream", H2.Frame(H2.Ping, 0, 1, new byte[8]), H2.ProtocolError },
        { "SETTINGS of length 5", H2.Frame(H2.Settings, 0, 0, new byte[5]), H2.FrameSizeError },
        { "WINDOW_UPDATE of 0", H2.Frame(H2.WindowUpdate, 0, 0, H2.U32(0)), H2.ProtocolError },
        { "DATA on an idle stream", H2.Frame(H2.Data, 0, 1, new byte[3]), H2.ProtocolError },
        { "even stream id", H2.Frame(H2.Headers, H2.EndHeaders | H2.EndStream, 2, H2.Block(H2.Get())), H2.ProtocolError },
        { "undecodable block", H2.Frame(H2.Headers, H2.EndHeaders | H2.EndStream, 1, [0x80]), H2.CompressionError },
    };

    public static TheoryData<string, bool, byte[], uint> AfterEarlyAnswerCases() => new()
    {
        { "WINDOW_UPDATE 0 on the finished stream", false, H2.Frame(H2.WindowUpdate, 0, 1, H2.U32(0)), H2.ProtocolError },
        { "window past 2^31-1 on the finished stream", false, H2.Frame(H2.WindowUpdate, 0, 1, H2.U32(0x7FFFFFFF)), H2.FlowControlError },
        { "DATA after the client's own RST_STREAM", true, H2.Frame(H2.Data, 0, 1, new byte[3]), H2.StreamClosed },
    };

    /// <summary>Http2StreamStateTests' rows seen by an independent client: h2 reads the early response and its RST_STREAM NO_ERROR first.</summary>
    [RequiresPythonH2Theory]
    [MemberData(nameof(AfterEarlyAnswerCases))]
    public async Task Python_h2_sees_the_stream_error_after_an_early_answer(string name, bool resetFirst, byte[] frame, uint code)
    {
        var r = await PeerAsync("after_early_answer", resetFirst ? "reset" : "-", Convert.ToHexString(frame));
        r.TryGetProperty("client_error", out _).Should().BeFalse("{0}: h2 found a protocol violation of ours: {1}", name, r.ToString());
        r.GetProperty("early").EnumerateArray().Select(e => e.GetInt32()).Should().Equal([(int)H2.NoError], name);
        var after = r.GetProperty("after").EnumerateArray().ToList();
        after.Should().ContainSingle("{0}: {1}", name, r.ToString());
        after[0].GetProperty("rst").GetInt32().Should().Be((int)code, name);
        after[0].GetProperty("stream").GetInt32().Should().Be(1, name);
    }

    [RequiresPythonH2Theory]
    [MemberData(nameof(PeerErrorCases))]
    public async Task Python_h2_sees_the_connection_error(string name, byte[] frame, uint code)
    {
        var r = await PeerAsync("error", Convert.ToHexString(frame));
        r.TryGetProperty("goaway", out var goaway).Should().BeTrue("{0}: {1}", name, r.ToString());
        goaway.GetInt32().Should().Be((int)code, name);
    }
}

public sealed class Http2PeerTestsOnSockets : Http2PeerTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class Http2PeerTestsOnIoUring : Http2PeerTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class Http2PeerTestsOnEpoll : Http2PeerTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
