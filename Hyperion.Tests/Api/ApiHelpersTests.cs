using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Serialization;
using Hyperion;
using Hyperion.Http2;
using Hyperion.Tests.Native;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Api;

public sealed record TodoItem(int Id, string Title, bool Done);

[JsonSerializable(typeof(TodoItem))]
public sealed partial class ApiTestJsonContext : JsonSerializerContext;

/// <summary>
/// What an API handler needs (issue #11 item 4): env.Query, ReadJsonAsync/RackResponse.Json, RequestAborted and the
/// 500-with-a-body rule, over HTTP/1.1 and h2c on every transport, from HttpClient, curl and raw sockets.
/// </summary>
public abstract class ApiHelpersTests : TransportTests
{
    public static TheoryData<string> Versions => new() { "1.1", "2.0" };


    private static string Describe(QueryValues q)
        => string.Join("|", q.Pairs.Select(p => p.Key + "=" + p.Value)) + " tags=" + string.Join(",", q.GetValues("tag")) + " first=" + q["tag"] + " missing=" + (q["nope"] ?? "null");

    private static void ApiRoutes(HyperionServer s)
    {
        s.UseHttp2();
        s.Handle("GET", "/q", env => RackResponse.Text(200, Describe(env.Query)));
        s.Handle("POST", "/todos", async env =>
        {
            var todo = await env.ReadJsonAsync(ApiTestJsonContext.Default.TodoItem);
            return RackResponse.Json(201, todo! with { Id = 7 }, ApiTestJsonContext.Default.TodoItem);
        });
        s.Handle("GET", "/throw", RackResponse (RackEnv env) => throw new InvalidOperationException("secret detail"));
        s.Handle("GET", "/teapot", RackResponse (RackEnv env) => throw new HttpStatusException(418, "no coffee"));
        s.Handle("POST", "/throw", RackResponse (RackEnv env) => throw new InvalidOperationException("body never read"));
    }

    private const string QueryTarget = "/q?tag=a&name=J%C3%BCrgen+M%20x&tag=b&bad=%zz%4&empty&=v&&plus=1%2B1";
    private const string QueryExpected = "tag=a|name=Jürgen M x|tag=b|bad=%zz%4|empty=|=v|plus=1+1 tags=a,b first=a missing=null";

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Query_decodes_form_urlencoded_pairs_with_repeated_names(string version)
    {
        await using var ts = await StartAsync(ApiRoutes);
        using var client = ts.CreateHttpClient(version);
        (await client.GetStringAsync(QueryTarget)).Should().Be(QueryExpected);
        (await client.GetStringAsync("/q")).Should().Be(" tags= first= missing=null", "no query: no pairs");
    }

    [Fact]
    public void Query_keeps_malformed_escapes_literal_decodes_UTF8_and_parses_again_after_QueryString_changes()
    {
        var env = new RackEnv();
        env.QueryString = "a=%zz&b=%4&c=%e2%82%AC&d=%ff&e=100%&a=2";
        var q = env.Query;
        q.Pairs.Select(p => p.Key + "=" + p.Value).Should().Equal("a=%zz", "b=%4", "c=\u20ac", "d=\ufffd", "e=100%", "a=2");
        q.GetValues("a").Should().Equal("%zz", "2");
        env.Query.Should().BeSameAs(q, "parsed once");
        env.QueryString = "x=1";
        env.Query.Pairs.Should().ContainSingle().Which.Should().Be(new KeyValuePair<string, string>("x", "1"));
        env.Reset();
        env.Query.Count.Should().Be(0, "a pooled env forgets the last request's query");
    }

    [RequiresToolFact("curl")]
    public async Task Query_and_JSON_from_curl_over_both_protocols()
    {
        await using var ts = await StartAsync(ApiRoutes);
        foreach (var protocol in new[] { "--http1.1", "--http2-prior-knowledge" })
        {
            // curl sends the target as written (HttpClient re-escapes the malformed %zz), and the server refuses a bare '%'
            // in the request target with 400 (RFC 3986 §2.1), so curl's target leaves that pair out.
            var (code, output, err) = await ToolProcess.RunAsync("curl", "-sS", "--max-time", "10", protocol, ts.BaseAddress + "q?tag=a&name=J%C3%BCrgen+M%20x&tag=b&empty&=v&&plus=1%2B1");
            code.Should().Be(0, err);
            output.Should().Be(QueryExpected.Replace("|bad=%zz%4", string.Empty, StringComparison.Ordinal));

            (code, output, err) = await ToolProcess.RunAsync(
                "curl", "-sS", "--max-time", "10", protocol, "-H", "Content-Type: application/json", "--data", "{\"Id\":0,\"Title\":\"milk\",\"Done\":true}",
                "-w", " %{http_code} %{content_type}", ts.BaseAddress + "todos");
            code.Should().Be(0, err);
            output.Should().Be("{\"Id\":7,\"Title\":\"milk\",\"Done\":true} 201 application/json; charset=utf-8");
        }
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task ReadJsonAsync_and_Json_round_trip_and_wrong_bodies_get_415_and_400(string version)
    {
        await using var ts = await StartAsync(ApiRoutes);
        using var client = ts.CreateHttpClient(version);
        using var created = await client.PostAsync("/todos", new StringContent("{\"Id\":1,\"Title\":\"bread\",\"Done\":false}", Encoding.UTF8, "application/vnd.todo+json"));
        created.StatusCode.Should().Be(HttpStatusCode.Created);
        created.Content.Headers.ContentType!.ToString().Should().Be("application/json; charset=utf-8");
        created.Content.Headers.ContentLength.Should().Be(37, "a JSON body is sent with its length");
        (await created.Content.ReadAsStringAsync()).Should().Be("{\"Id\":7,\"Title\":\"bread\",\"Done\":false}");

        using var text = await client.PostAsync("/todos", new StringContent("{}", Encoding.UTF8, "text/plain"));
        text.StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType);
        (await text.Content.ReadAsStringAsync()).Should().StartWith("Unsupported Media Type");

        using var broken = await client.PostAsync("/todos", new StringContent("{\"Id\":", Encoding.UTF8, "application/json"));
        broken.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await broken.Content.ReadAsStringAsync()).Should().StartWith("Bad Request");
        ts.Logs.Lines.Should().NotContain(l => l.EventId.Name == "AppError", "a client's bad body is not the server's fault");
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task A_handler_exception_gives_500_with_a_short_text_body_and_HttpStatusException_its_status(string version)
    {
        await using var ts = await StartAsync(ApiRoutes);
        using var client = ts.CreateHttpClient(version);
        using var failed = await client.GetAsync("/throw");
        failed.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await failed.Content.ReadAsStringAsync()).Should().Be("Internal Server Error", "the exception's message stays in the log");
        failed.Content.Headers.ContentType!.MediaType.Should().Be("text/plain");
        ts.Logs.Lines.Should().Contain(l => l.EventId.Name == "AppError" && l.Exception!.Message == "secret detail");

        using var teapot = await client.GetAsync("/teapot");
        ((int)teapot.StatusCode).Should().Be(418);
        (await teapot.Content.ReadAsStringAsync()).Should().Be("no coffee");
    }

    [Fact]
    public async Task After_a_500_the_HTTP1_connection_stays_open_when_the_body_was_read_and_closes_when_not()
    {
        await using var ts = await StartAsync(ApiRoutes);
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET /throw HTTP/1.1\r\nHost: a\r\n\r\n");
        var r = await c.ReadResponseAsync();
        r.Status.Should().Be(500);
        r.BodyText.Should().Be("Internal Server Error");
        r.Header("Connection").Should().BeNull();
        await c.SendAsync("GET /q?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
        (await c.ReadResponseAsync()).BodyText.Should().StartWith("x=1");

        using var unread = await ts.ConnectAsync();
        await unread.SendAsync("POST /throw HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
        var r2 = await unread.ReadResponseAsync();
        r2.Status.Should().Be(500);
        r2.Header("Connection").Should().Be("close", "the unread body would be taken for the next request");
        (await unread.IsClosedByServerAsync()).Should().BeTrue();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RequestAborted_fires_when_an_HTTP1_client_closes_or_resets_the_connection(bool reset)
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartAsync(s => s.Handle("GET", "/wait", async env => await WaitForAbortAsync(env, started, cancelled)));
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, ts.Port);
        await socket.SendAsync("GET /wait HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray());
        await started.Task.WaitAsync(TimeSpan.FromSeconds(5));
        if (reset)
        {
            socket.LingerState = new LingerOption(true, 0); // close sends RST
        }

        socket.Dispose();
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task RequestAborted_asked_for_before_the_body_is_read_fires_after_the_body_when_the_client_closes()
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartAsync(s => s.Handle("POST", "/upload", async env =>
        {
            var token = env.RequestAborted;
            using var reader = new StreamReader(env.Body);
            (await reader.ReadToEndAsync()).Should().Be("hello");
            return await WaitForAbortAsync(env, started, cancelled);
        }));
        using (var c = await ts.ConnectAsync())
        {
            await c.SendAsync("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n");
            await Task.Delay(50); // the handler asks for the token while the body has not arrived
            await c.SendAsync("hello");
            await started.Task.WaitAsync(TimeSpan.FromSeconds(5));
        }

        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_handler_cancelled_by_RequestAborted_is_a_gone_client_not_an_app_error()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartAsync(s => s.Handle("GET", "/wait", async env =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, env.RequestAborted); // throws when the client goes
            return RackResponse.Text(200, "never");
        }));
        using (var c = await ts.ConnectAsync())
        {
            await c.SendAsync("GET /wait HTTP/1.1\r\nHost: a\r\n\r\n");
            await started.Task.WaitAsync(TimeSpan.FromSeconds(5));
        }

        for (int i = 0; i < 100 && !ts.Logged("ConnectionError"); i++)
        {
            await Task.Delay(50);
        }

        ts.Logged("ConnectionError").Should().BeTrue();
        ts.Logged("AppError").Should().BeFalse();
    }

    [Fact]
    public async Task RequestAborted_fires_when_an_HTTP2_client_resets_the_stream_and_the_connection_serves_on()
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartAsync(s =>
        {
            ApiRoutes(s);
            s.Handle("GET", "/wait", async env => await WaitForAbortAsync(env, started, cancelled));
        });
        using var client = ts.CreateHttpClient("2.0");
        using var cts = new CancellationTokenSource();
        var pending = client.GetAsync("/wait", cts.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(5));
        await cts.CancelAsync(); // HttpClient sends RST_STREAM(CANCEL)
        var act = () => pending;
        await act.Should().ThrowAsync<OperationCanceledException>();
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
        (await client.GetStringAsync("/q?a=b")).Should().StartWith("a=b");
        ts.Server.ConnectionCount.Should().Be(1);
    }

    [Fact]
    public async Task RequestAborted_does_not_fire_for_a_request_that_completes_and_the_connection_serves_the_next()
    {
        await using var ts = await StartAsync(s => s.Handle("GET", "/quick", env =>
            RackResponse.Text(200, env.RequestAborted.IsCancellationRequested ? "aborted" : "live")));
        using var c = await ts.ConnectAsync();
        for (int i = 0; i < 3; i++)
        {
            // Pipelined: the watch must leave the second request in the input for the request loop.
            await c.SendAsync("GET /quick HTTP/1.1\r\nHost: a\r\n\r\nGET /quick HTTP/1.1\r\nHost: a\r\n\r\n");
            (await c.ReadResponseAsync()).BodyText.Should().Be("live");
            (await c.ReadResponseAsync()).BodyText.Should().Be("live");
        }
    }

    private static async Task<RackResponse> WaitForAbortAsync(RackEnv env, TaskCompletionSource started, TaskCompletionSource cancelled)
    {
        var token = env.RequestAborted;
        started.TrySetResult();
        try
        {
            await Task.Delay(Timeout.Infinite, token);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            cancelled.TrySetResult();
        }

        return RackResponse.Text(200, "gone");
    }
}

public sealed class ApiHelpersTestsOnSockets : ApiHelpersTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class ApiHelpersTestsOnIoUring : ApiHelpersTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class ApiHelpersTestsOnEpoll : ApiHelpersTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
