using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Http2;

/// <summary>
/// The same routes and app over HTTP/2 (h2c prior knowledge) as over HTTP/1.1, seen by a real client:
/// every route kind, request bodies up, large and streaming bodies down, trailers, HEAD, hooks, limits.
/// </summary>
public abstract class Http2DispatchTests : TransportTests, IAsyncLifetime
{
    private TestServer _server = null!;
    private HttpClient _client = null!;
    private readonly List<string> _hookLog = [];

    public async Task InitializeAsync()
    {
        _server = await StartAsync(Configure, o => o.MaxRequestBodySize = 4 * 1024 * 1024);
        _client = H2cClient.Create(_server.BaseAddress);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private void Configure(HyperionServer s)
    {
        s.UseHttp2();
        s.HandleStatic("GET", "/static", "static body", headers: [("X-Static", "1")]);
        s.Handle("GET", "/dynamic", env => RackResponse.Text(200, $"{env.Protocol} {env.Scheme} {env.Method} {env.Path} {env.QueryString} {env.ServerName} {env["HTTP_X_TEST"]} {env.RemoteAddress}"));
        s.Handle("POST", "/legacy", new LegacyEcho());
        s.Handle("POST", "/echo", async env =>
        {
            var ms = new MemoryStream();
            await env.Body.CopyToAsync(ms);
            return new RackResponse(200, [("content-type", "application/octet-stream")], ms.ToArray());
        });
        s.Handle("POST", "/sync-read", env =>
        {
            var ms = new MemoryStream();
            env.Body.CopyTo(ms);
            return RackResponse.Text(200, ms.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        });
        s.Handle("GET", "/big", _ => RackResponse.Bytes(200, Pattern(3 * 1024 * 1024)));
        s.Handle("GET", "/chunks", _ => RackResponse.Chunks(200, null, [Encoding.ASCII.GetBytes("a"), Encoding.ASCII.GetBytes("bc")]));
        s.Handle("GET", "/async-chunks", _ => RackResponse.AsyncChunks(200, null, AsyncChunks()));
        s.Handle("GET", "/stream", _ => RackResponse.Streaming(200, [("content-type", "text/plain")], async w =>
        {
            await w.WriteAsync("one,");
            await w.FlushAsync();
            await w.WriteAsync("two");
            w.AddTrailer("x-checksum", "abc");
        }));
        s.Handle("GET", "/trailers", _ => RackResponse.Text(200, "body").WithTrailers([("grpc-status", "0"), ("grpc-message", "ok")]));
        s.Handle("GET", "/file", _ => RackResponse.File(200, null, typeof(Http2DispatchTests).Assembly.Location));
        s.Handle("GET", "/throws", (Func<RackEnv, RackResponse>)(_ => throw new InvalidOperationException("boom")));
        s.Handle("GET", "/no-content", _ => RackResponse.Empty(204));
        s.Handle("GET", "/headers", _ => new RackResponse(200, [("X-Mixed-Case", "v"), ("Connection", "close"), ("Transfer-Encoding", "chunked")], "h"));
        s.OnRequestStart(env => { lock (_hookLog) { _hookLog.Add("start " + env.Path + " " + env.Protocol); } });
        s.OnRequestEnd((env, r, e) => { lock (_hookLog) { _hookLog.Add("end " + env.Path + " " + r?.Status); } });
        s.Run(env => ValueTask.FromResult(RackResponse.Text(200, "app " + env.Path)));
    }

    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> AsyncChunks()
    {
        for (int i = 0; i < 3; i++)
        {
            await Task.Yield();
            yield return Encoding.ASCII.GetBytes($"[{i}]");
        }
    }

    private static byte[] Pattern(int length)
    {
        var b = new byte[length];
        for (int i = 0; i < b.Length; i++)
        {
            b[i] = (byte)(i * 31 + (i >> 8));
        }

        return b;
    }

    [Fact]
    public async Task Static_route_over_h2()
    {
        var r = await _client.GetAsync("/static");
        r.Version.Should().Be(HttpVersion.Version20);
        r.StatusCode.Should().Be(HttpStatusCode.OK);
        (await r.Content.ReadAsStringAsync()).Should().Be("static body");
        r.Headers.GetValues("x-static").Should().Equal("1");
        r.Content.Headers.ContentType!.MediaType.Should().Be("text/plain");
        r.Content.Headers.ContentLength.Should().Be(11);
        r.Headers.Date.Should().NotBeNull();
    }

    [Fact]
    public async Task Dynamic_route_sees_the_env_populated_from_pseudo_headers()
    {
        var req = H2cClient.Request(HttpMethod.Get, "/dynamic?a=1&b=2");
        req.Headers.Add("X-Test", "hello");
        var r = await _client.SendAsync(req);
        (await r.Content.ReadAsStringAsync()).Should().Be("HTTP/2 http GET /dynamic a=1&b=2 127.0.0.1 hello 127.0.0.1");
    }

    [Fact]
    public async Task Legacy_route_gets_the_whole_body()
    {
        var r = await _client.PostAsync("/legacy", new ByteArrayContent(new byte[100_000]));
        (await r.Content.ReadAsStringAsync()).Should().Be("POST /legacy HTTP/2 100000");
    }

    [Fact]
    public async Task App_fallback_and_404_free_paths()
    {
        (await _client.GetStringAsync("/anything/else")).Should().Be("app /anything/else");
    }

    [Fact]
    public async Task Request_body_larger_than_every_window_streams_into_rack_input()
    {
        var body = Pattern(3 * 1024 * 1024 + 7);
        var r = await _client.PostAsync("/echo", new ByteArrayContent(body));
        r.StatusCode.Should().Be(HttpStatusCode.OK);
        (await r.Content.ReadAsByteArrayAsync()).Should().Equal(body);
    }

    [Fact]
    public async Task Synchronous_handler_may_block_reading_rack_input()
    {
        var r = await _client.PostAsync("/sync-read", new StreamContent(new MemoryStream(Pattern(600_000))));
        (await r.Content.ReadAsStringAsync()).Should().Be("600000");
    }

    [Fact]
    public async Task Chunked_upload_without_content_length()
    {
        var body = Pattern(200_000);
        var content = new StreamContent(new MemoryStream(body));
        var r = await _client.PostAsync("/echo", content);
        (await r.Content.ReadAsByteArrayAsync()).Should().Equal(body);
    }

    [Fact]
    public async Task Large_response_respects_flow_control()
    {
        var bytes = await _client.GetByteArrayAsync("/big");
        bytes.Should().Equal(Pattern(3 * 1024 * 1024));
    }

    [Fact]
    public async Task Chunk_and_async_chunk_bodies()
    {
        (await _client.GetStringAsync("/chunks")).Should().Be("abc");
        (await _client.GetStringAsync("/async-chunks")).Should().Be("[0][1][2]");
    }

    [Fact]
    public async Task Streaming_body_with_trailer_added_by_the_callback()
    {
        var r = await _client.GetAsync("/stream", HttpCompletionOption.ResponseContentRead);
        (await r.Content.ReadAsStringAsync()).Should().Be("one,two");
        r.TrailingHeaders.GetValues("x-checksum").Should().Equal("abc");
    }

    [Fact]
    public async Task Streaming_flush_reaches_the_client_before_the_body_ends()
    {
        var gate = new TaskCompletionSource();
        await using var ts = await StartAsync(s =>
        {
            s.UseHttp2();
            s.Handle("GET", "/s", _ => RackResponse.Streaming(200, null, async w =>
            {
                await w.WriteAsync("first");
                await w.FlushAsync();
                await gate.Task.WaitAsync(TimeSpan.FromSeconds(10));
                await w.WriteAsync("second");
            }));
        });
        using var client = H2cClient.Create(ts.BaseAddress);
        var r = await client.GetAsync("/s", HttpCompletionOption.ResponseHeadersRead);
        var stream = await r.Content.ReadAsStreamAsync();
        var buf = new byte[5];
        await stream.ReadExactlyAsync(buf).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Encoding.ASCII.GetString(buf).Should().Be("first");
        gate.SetResult();
        (await new StreamReader(stream).ReadToEndAsync()).Should().Be("second");
    }

    [Fact]
    public async Task Trailers_arrive_as_trailing_headers()
    {
        var r = await _client.GetAsync("/trailers");
        (await r.Content.ReadAsStringAsync()).Should().Be("body");
        r.TrailingHeaders.GetValues("grpc-status").Should().Equal("0");
        r.TrailingHeaders.GetValues("grpc-message").Should().Equal("ok");
    }

    [Fact]
    public async Task File_body()
    {
        var bytes = await _client.GetByteArrayAsync("/file");
        bytes.Should().Equal(await File.ReadAllBytesAsync(typeof(Http2DispatchTests).Assembly.Location));
    }

    [Fact]
    public async Task Head_has_headers_and_no_body()
    {
        var r = await _client.SendAsync(H2cClient.Request(HttpMethod.Head, "/static"));
        r.Version.Should().Be(HttpVersion.Version20);
        r.StatusCode.Should().Be(HttpStatusCode.OK);
        r.Content.Headers.ContentLength.Should().Be(11);
        (await r.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task App_exception_is_500_and_the_connection_lives_on()
    {
        (await _client.GetAsync("/throws")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await _client.GetStringAsync("/static")).Should().Be("static body");
    }

    [Fact]
    public async Task No_content_and_connection_specific_response_headers_are_dropped()
    {
        (await _client.GetAsync("/no-content")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        var r = await _client.GetAsync("/headers");
        r.Headers.GetValues("x-mixed-case").Should().Equal("v");
        r.Headers.Contains("connection").Should().BeFalse();
        (await r.Content.ReadAsStringAsync()).Should().Be("h");
    }

    [Fact]
    public async Task Hundred_concurrent_streams_on_one_connection()
    {
        var tasks = Enumerable.Range(0, 100).Select(i => _client.GetStringAsync($"/dynamic?i={i}")).ToArray();
        var results = await Task.WhenAll(tasks);
        results.Select((r, i) => r.Contains($"i={i}", StringComparison.Ordinal)).Should().AllBeEquivalentTo(true);
        _server.Server.ConnectionCount.Should().Be(1);
    }

    [Fact]
    public async Task Hooks_run_for_h2_requests()
    {
        await _client.GetStringAsync("/static");
        await Task.Delay(50);
        lock (_hookLog)
        {
            _hookLog.Should().Contain("start /static HTTP/2").And.Contain("end /static 200");
        }
    }

    [Fact]
    public async Task Declared_body_over_the_limit_is_413()
    {
        var r = await _client.PostAsync("/echo", new ByteArrayContent(new byte[5 * 1024 * 1024]));
        r.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Streamed_body_over_the_limit_is_413()
    {
        var r = await _client.PostAsync("/echo", new StreamContent(new MemoryStream(new byte[5 * 1024 * 1024])));
        r.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Http11_still_works_on_the_same_port()
    {
        using var http1 = _server.CreateHttpClient();
        var r = await http1.GetAsync("/static");
        r.Version.Should().Be(HttpVersion.Version11);
        (await r.Content.ReadAsStringAsync()).Should().Be("static body");
    }

    private sealed class LegacyEcho : IRequestHandler
    {
        public ValueTask<RackResponse> HandleAsync(Request request)
            => ValueTask.FromResult(RackResponse.Text(200, $"{request.Method} {request.Path} {request.Version} {request.Body.Length}"));
    }
}

public sealed class Http2DispatchTestsOnSockets : Http2DispatchTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class Http2DispatchTestsOnIoUring : Http2DispatchTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class Http2DispatchTestsOnEpoll : Http2DispatchTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
