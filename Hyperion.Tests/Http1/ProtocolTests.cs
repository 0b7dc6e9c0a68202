using System.Net;
using System.Text;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Http1;

/// <summary>RFC 9112 behaviour a client sees on the wire: keep-alive, pipelining, bodies, HEAD, OPTIONS, target forms.</summary>
public abstract class ProtocolTests : TransportTests
{
    private async Task<TestServer> StartEchoServerAsync(Action<HyperionOptions>? options = null) => await StartAsync(s =>
    {
        s.HandleStatic("GET", "/static", "Hello, World!");
        s.Handle("GET", "/dynamic", env => RackResponse.Text(200, "dyn " + env.QueryString));
        s.Handle("POST", "/echo", async env =>
        {
            var ms = new MemoryStream();
            await env.Body.CopyToAsync(ms);
            return RackResponse.Bytes(200, ms.ToArray(), "application/octet-stream");
        });
        s.Handle("POST", "/ignore-body", env => RackResponse.Text(200, "ignored"));
        s.Handle("GET", "/info", env => RackResponse.Text(200, $"{env.Method} {env.Path} {env.QueryString} {env.ServerName}:{env.ServerPort} {env.Protocol}"));
    }, options);

    [Fact]
    public async Task Http11_keeps_the_connection_alive_by_default()
    {
        await using var ts = await StartEchoServerAsync();
        using var c = await ts.ConnectAsync();
        for (int i = 0; i < 5; i++)
        {
            await c.SendAsync("GET /static HTTP/1.1\r\nHost: x\r\n\r\n");
            var r = await c.ReadResponseAsync();
            r.Status.Should().Be(200);
            r.Header("Connection").Should().BeNull();
        }
    }

    [Fact]
    public async Task Http10_closes_unless_keep_alive_is_asked_for()
    {
        await using var ts = await StartEchoServerAsync();
        using (var c = await ts.ConnectAsync())
        {
            await c.SendAsync("GET /static HTTP/1.0\r\n\r\n");
            var r = await c.ReadResponseAsync();
            r.Status.Should().Be(200);
            r.Header("Connection").Should().Be("close");
            (await c.IsClosedByServerAsync()).Should().BeTrue();
        }

        using (var c = await ts.ConnectAsync())
        {
            await c.SendAsync("GET /dynamic HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            var r = await c.ReadResponseAsync();
            r.Header("Connection").Should().Be("keep-alive");
            await c.SendAsync("GET /static HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            (await c.ReadResponseAsync()).Status.Should().Be(200);
        }
    }

    [Fact]
    public async Task Connection_close_from_the_client_is_honoured()
    {
        await using var ts = await StartEchoServerAsync();
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET /dynamic HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        var r = await c.ReadResponseAsync();
        r.Header("Connection").Should().Be("close");
        (await c.IsClosedByServerAsync()).Should().BeTrue();
    }

    [Fact]
    public async Task Pipelined_requests_are_answered_in_order_in_one_batch()
    {
        await using var ts = await StartEchoServerAsync();
        using var c = await ts.ConnectAsync();
        var sb = new StringBuilder();
        for (int i = 0; i < 20; i++)
        {
            sb.Append($"GET /dynamic?i={i} HTTP/1.1\r\nHost: x\r\n\r\n");
            sb.Append("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
        }

        await c.SendAsync(sb.ToString());
        for (int i = 0; i < 20; i++)
        {
            (await c.ReadResponseAsync()).BodyText.Should().Be($"dyn i={i}");
            (await c.ReadResponseAsync()).BodyText.Should().Be("hello");
        }
    }

    [Fact]
    public async Task Chunked_request_body_is_decoded()
    {
        await using var ts = await StartEchoServerAsync();
        using var c = await ts.ConnectAsync();
        await c.SendAsync("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-Trailer: yes\r\n\r\n");
        var r = await c.ReadResponseAsync();
        r.BodyText.Should().Be("hello, world!!!");
        await c.SendAsync("GET /static HTTP/1.1\r\nHost: x\r\n\r\n");
        (await c.ReadResponseAsync()).Status.Should().Be(200);
    }

    [Fact]
    public async Task Request_body_streams_into_rack_input_as_bytes_arrive()
    {
        var firstChunkSeen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartAsync(s => s.Run(async env =>
        {
            var buffer = new byte[100];
            int n = await env.Body.ReadAsync(buffer);
            firstChunkSeen.TrySetResult(Encoding.ASCII.GetString(buffer, 0, n));
            var rest = new MemoryStream();
            await env.Body.CopyToAsync(rest);
            return RackResponse.Text(200, $"{n}+{rest.Length}");
        }));
        using var c = await ts.ConnectAsync();
        await c.SendAsync("POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nfirs\r\n");

        // The app sees the first chunk while the rest of the body has not even been sent.
        (await firstChunkSeen.Task.WaitAsync(TimeSpan.FromSeconds(10))).Should().Be("firs");
        await c.SendAsync("6\r\nsecond\r\n0\r\n\r\n");
        (await c.ReadResponseAsync()).BodyText.Should().Be("4+6");
    }

    [Fact]
    public async Task Expect_100_continue_is_sent_when_the_app_reads_the_body()
    {
        await using var ts = await StartEchoServerAsync();
        using var c = await ts.ConnectAsync();
        await c.SendAsync("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
        var interim = await c.ReadResponseAsync();
        interim.Status.Should().Be(100);
        await c.SendAsync("data");
        var final = await c.ReadResponseAsync();
        final.Status.Should().Be(200);
        final.BodyText.Should().Be("data");
    }

    [Fact]
    public async Task Expect_100_continue_is_not_sent_when_the_body_came_with_the_head()
    {
        // RFC 9110 §10.1.1: a server MAY omit 100 when it has already received the content; a client that did not
        // wait would take the 100 as the start of its answer.
        await using var ts = await StartEchoServerAsync();
        using var c = await ts.ConnectAsync();
        await c.SendAsync("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\ndataGET /static HTTP/1.1\r\nHost: x\r\n\r\n");
        var first = await c.ReadResponseAsync();
        first.Status.Should().Be(200, "no interim 100 comes before the answer");
        first.BodyText.Should().Be("data");
        (await c.ReadResponseAsync()).BodyText.Should().Be("Hello, World!");
    }

    [Fact]
    public async Task Expect_100_continue_is_not_sent_when_the_app_ignores_the_body_and_the_connection_closes()
    {
        await using var ts = await StartEchoServerAsync();
        using var c = await ts.ConnectAsync();
        await c.SendAsync("POST /ignore-body HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
        var r = await c.ReadResponseAsync();
        r.Status.Should().Be(200);
        r.Header("Connection").Should().Be("close");
        (await c.IsClosedByServerAsync()).Should().BeTrue();
    }

    [Fact]
    public async Task An_unread_body_is_drained_and_the_connection_reused()
    {
        await using var ts = await StartEchoServerAsync();
        using var c = await ts.ConnectAsync();
        await c.SendAsync("POST /ignore-body HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789GET /static HTTP/1.1\r\nHost: x\r\n\r\n");
        (await c.ReadResponseAsync()).BodyText.Should().Be("ignored");
        (await c.ReadResponseAsync()).BodyText.Should().Be("Hello, World!");
    }

    [Fact]
    public async Task Head_gets_the_get_headers_without_a_body()
    {
        await using var ts = await StartEchoServerAsync();
        using var c = await ts.ConnectAsync();
        await c.SendAsync("HEAD /static HTTP/1.1\r\nHost: x\r\n\r\nHEAD /dynamic?q=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /static HTTP/1.1\r\nHost: x\r\n\r\n");
        var s = await c.ReadResponseAsync(head: true);
        s.Status.Should().Be(200);
        s.Header("Content-Length").Should().Be("13");
        var d = await c.ReadResponseAsync(head: true);
        d.Header("Content-Length").Should().Be("7");
        var g = await c.ReadResponseAsync();
        g.BodyText.Should().Be("Hello, World!");
    }

    [Fact]
    public async Task Options_asterisk_lists_the_servers_methods()
    {
        await using var ts = await StartEchoServerAsync();
        using var c = await ts.ConnectAsync();
        await c.SendAsync("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
        var r = await c.ReadResponseAsync();
        r.Status.Should().Be(200);
        r.Header("Allow").Should().Contain("GET").And.Contain("POST").And.Contain("OPTIONS");
    }

    [Fact]
    public async Task Absolute_form_target_uses_its_authority()
    {
        await using var ts = await StartEchoServerAsync();
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET http://example.test:8080/info?a=b HTTP/1.1\r\nHost: example.test:8080\r\n\r\n");
        (await c.ReadResponseAsync()).BodyText.Should().Be("GET /info a=b example.test:8080 HTTP/1.1");
    }

    [Fact]
    public async Task Unknown_path_is_404_and_wrong_method_is_405_with_allow()
    {
        await using var ts = await StartEchoServerAsync();
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET /nope HTTP/1.1\r\nHost: x\r\n\r\nDELETE /static HTTP/1.1\r\nHost: x\r\n\r\n");
        (await c.ReadResponseAsync()).Status.Should().Be(404);
        var r = await c.ReadResponseAsync();
        r.Status.Should().Be(405);
        r.Header("Allow").Should().Be("GET, HEAD");
    }

    [Fact]
    public async Task HttpClient_round_trips_every_route_kind()
    {
        await using var ts = await StartAsync(s =>
        {
            s.HandleStatic("GET", "/static", "s");
            s.Handle("GET", "/dynamic", env => RackResponse.Text(200, "d"));
            s.Handle("GET", "/legacy", new LegacyEcho());
            s.Handle("POST", "/legacy", new LegacyEcho());
            s.Run(env => ValueTask.FromResult(RackResponse.Text(200, "app " + env.Path)));
        });
        using var client = ts.CreateHttpClient();
        (await client.GetStringAsync("/static")).Should().Be("s");
        (await client.GetStringAsync("/dynamic")).Should().Be("d");
        (await client.GetStringAsync("/legacy?x=1")).Should().Be("GET /legacy x=1 HTTP/1.1 0");
        (await client.GetStringAsync("/anything/else")).Should().Be("app /anything/else");
        var post = await client.PostAsync("/legacy", new ByteArrayContent(new byte[100_000]));
        (await post.Content.ReadAsStringAsync()).Should().Be("POST /legacy  HTTP/1.1 100000");
    }

    [Fact]
    public async Task A_large_body_round_trips_through_httpclient()
    {
        await using var ts = await StartEchoServerAsync();
        using var client = ts.CreateHttpClient();
        var payload = new byte[3 * 1024 * 1024 + 17];
        Random.Shared.NextBytes(payload);
        var response = await client.PostAsync("/echo", new ByteArrayContent(payload));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsByteArrayAsync()).Should().Equal(payload);
    }

    [Fact]
    public async Task Two_servers_in_one_process_do_not_share_routes()
    {
        await using var a = await StartAsync(s => s.HandleStatic("GET", "/a", "a"));
        await using var b = await StartAsync(s => s.HandleStatic("GET", "/b", "b"));
        using var ca = a.CreateHttpClient();
        using var cb = b.CreateHttpClient();
        (await ca.GetAsync("/b")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await cb.GetAsync("/a")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await ca.GetStringAsync("/a")).Should().Be("a");
    }

    [Fact]
    public async Task Several_listeners_serve_the_same_routes()
    {
        await using var ts = await StartAsync(s => s.HandleStatic("GET", "/x", "x"), o =>
        {
            o.Listen(IPAddress.Loopback, 0);
            o.Listen(IPAddress.Loopback, 0);
        });
        ts.Server.Endpoints.Should().HaveCount(2);
        foreach (var ep in ts.Server.Endpoints)
        {
            using var c = await RawConnection.ConnectAsync(ep.Port);
            await c.SendAsync("GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
            (await c.ReadResponseAsync()).BodyText.Should().Be("x");
        }
    }

    private sealed class LegacyEcho : IRequestHandler
    {
        public ValueTask<RackResponse> HandleAsync(Request request)
            => ValueTask.FromResult(RackResponse.Text(200, $"{request.Method} {request.Path} {request.Query} {request.Version} {request.Body.Length}"));
    }
}

public sealed class ProtocolTestsOnSockets : ProtocolTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class ProtocolTestsOnIoUring : ProtocolTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class ProtocolTestsOnEpoll : ProtocolTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
