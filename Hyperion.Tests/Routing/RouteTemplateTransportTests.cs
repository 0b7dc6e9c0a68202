using System.Net;
using Hyperion;
using Hyperion.Http2;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Native;

namespace Hyperion.Tests.Routing;

/// <summary>Route templates from outside: HttpClient over HTTP/1.1 and h2c on every transport, curl once, raw <c>OPTIONS *</c>.</summary>
public abstract class RouteTemplateTransportTests : TransportTests
{
    public static TheoryData<string> Versions => new() { "1.1", "2.0" };


    private static void Routes(HyperionServer s)
    {
        s.UseHttp2();
        s.Handle("GET", "/todos/{id}", env => RackResponse.Text(200, "todo " + env.RouteValues.GetInt32("id").ToString(System.Globalization.CultureInfo.InvariantCulture)));
        s.Handle("DELETE", "/todos/{id}", async env =>
        {
            await Task.Yield();
            return RackResponse.Text(200, "deleted " + env.RouteValues["id"]);
        });
        s.HandleStatic("GET", "/todos/special", "special");
        s.Handle("POST", "/todos", env => RackResponse.Text(201, "created"));
        s.Handle("GET", "/u/{name}", env => RackResponse.Text(200, env.RouteValues["name"]));
        s.Handle("GET", "/files/{path...}", new PathEcho());
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Templates_answer_with_decoded_values_and_HEAD_falls_back_to_GET(string version)
    {
        await using var ts = await StartAsync(Routes);
        using var client = ts.CreateHttpClient(version);
        (await client.GetStringAsync("/todos/42")).Should().Be("todo 42");
        (await client.GetStringAsync("/todos/special")).Should().Be("special", "an exact path wins over the template");
        using (var deleted = await client.DeleteAsync("/todos/7"))
        {
            (await deleted.Content.ReadAsStringAsync()).Should().Be("deleted 7");
            deleted.Version.Should().Be(Version.Parse(version));
        }

        (await client.GetStringAsync("/u/caf%C3%A9%20au%20lait")).Should().Be("café au lait");
        (await client.GetStringAsync("/u/a%2Fb")).Should().Be("a/b");
        (await client.GetStringAsync("/files/css/site.css")).Should().Be("legacy css/site.css");
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/todos/42"));
        head.StatusCode.Should().Be(HttpStatusCode.OK);
        head.Content.Headers.ContentLength.Should().Be("todo 42".Length);
        (await head.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Alongside_an_app_a_path_no_route_matches_goes_to_the_app_and_a_wrong_method_is_405_with_every_matching_method(string version)
    {
        await using var ts = await StartAsync(s =>
        {
            Routes(s);
            s.Run(env => ValueTask.FromResult(RackResponse.Text(200, "app " + env.Method + " " + env.Path)));
        });
        using var client = ts.CreateHttpClient(version);
        (await client.GetStringAsync("/elsewhere")).Should().Be("app GET /elsewhere");
        (await client.GetStringAsync("/todos/")).Should().Be("app GET /todos/", "{id} does not match an empty segment");
        (await client.GetStringAsync("/todos/1/2")).Should().Be("app GET /todos/1/2");

        await Expect405(client, HttpMethod.Put, "/todos/5", "GET", "HEAD", "DELETE");
        await Expect405(client, HttpMethod.Put, "/todos/special", "GET", "HEAD", "DELETE");   // the exact path's GET and the template's DELETE
        await Expect405(client, HttpMethod.Get, "/todos", "POST");
        await Expect405(client, HttpMethod.Post, "/files/a", "GET", "HEAD");
        using var deleted = await client.DeleteAsync("/todos/special");
        (await deleted.Content.ReadAsStringAsync()).Should().Be("deleted special", "the exact path has no DELETE; the template has");
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Without_an_app_a_miss_is_404(string version)
    {
        await using var ts = await StartAsync(Routes);
        using var client = ts.CreateHttpClient(version);
        (await client.GetAsync("/elsewhere")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await client.GetAsync("/todos/")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        await Expect405(client, HttpMethod.Patch, "/todos/5", "GET", "HEAD", "DELETE");
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task A_middleware_that_rewrites_the_path_lands_on_a_template_with_its_values(string version)
    {
        await using var ts = await StartAsync(s =>
        {
            Routes(s);
            s.Use(next => env =>
            {
                if (env.Path.StartsWith("/v1/", StringComparison.Ordinal))
                {
                    env.Path = env.Path[3..];
                }

                return next(env);
            });
        });
        using var client = ts.CreateHttpClient(version);
        (await client.GetStringAsync("/v1/todos/9")).Should().Be("todo 9");
        (await client.GetStringAsync("/v1/u/x%20y")).Should().Be("x y");
        (await client.GetStringAsync("/v1/todos/special")).Should().Be("special");
        await Expect405(client, HttpMethod.Put, "/v1/todos/9", "GET", "HEAD", "DELETE");
    }

    [Fact]
    public async Task OPTIONS_asterisk_lists_the_methods_of_templates_too()
    {
        await using var ts = await StartAsync(Routes);
        using var c = await ts.ConnectAsync();
        await c.SendAsync("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
        var r = await c.ReadResponseAsync();
        r.Status.Should().Be(200);
        r.Header("Allow")!.Split(", ").Should().BeEquivalentTo("GET", "HEAD", "DELETE", "POST", "OPTIONS");
    }

    [RequiresToolFact("curl")]
    public async Task Curl_reads_a_template_route_over_HTTP1_and_h2c()
    {
        await using var ts = await StartAsync(Routes);
        foreach (var flag in new[] { "--http1.1", "--http2-prior-knowledge" })
        {
            var (code, stdout, stderr) = await ToolProcess.RunAsync("curl", "-sS", flag, "-w", " %{http_code} %{http_version}", new Uri(ts.BaseAddress, "/todos/31").ToString());
            code.Should().Be(0, stderr);
            stdout.Should().Be(flag == "--http1.1" ? "todo 31 200 1.1" : "todo 31 200 2");
            (code, stdout, stderr) = await ToolProcess.RunAsync("curl", "-sS", flag, "-X", "PUT", "-o", "/dev/null", "-D", "-", new Uri(ts.BaseAddress, "/todos/31").ToString());
            code.Should().Be(0, stderr);
            stdout.Should().MatchRegex("(?i)^HTTP/[0-9.]+ 405").And.MatchRegex("(?im)^allow: GET, HEAD, DELETE\r?$");
        }
    }

    private static async Task Expect405(HttpClient client, HttpMethod method, string path, params string[] allow)
    {
        using var response = await client.SendAsync(new HttpRequestMessage(method, path));
        response.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed, $"{method} {path}");
        response.Content.Headers.Allow.Should().Equal(allow);
    }

    private sealed class PathEcho : IRequestHandler
    {
        public ValueTask<RackResponse> HandleAsync(Request request) => ValueTask.FromResult(RackResponse.Text(200, "legacy " + request.Path["/files/".Length..]));
    }
}

public sealed class RouteTemplateTransportTestsOnSockets : RouteTemplateTransportTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class RouteTemplateTransportTestsOnIoUring : RouteTemplateTransportTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class RouteTemplateTransportTestsOnEpoll : RouteTemplateTransportTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
