using System.Net;
using Hyperion;
using Hyperion.Http2;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Middleware;

/// <summary>Rack's <c>use</c>: order, short-circuit, env and response changes, what the chain wraps, on both protocols.</summary>
public abstract class MiddlewareTests : TransportTests
{
    public static TheoryData<string> Versions => new() { "1.1", "2.0" };


    private static void Routes(HyperionServer s)
    {
        s.UseHttp2();
        s.HandleStatic("GET", "/static", "s");
        s.Handle("GET", "/dynamic", env => RackResponse.Text(200, "d"));
        s.Handle("POST", "/dynamic", env => RackResponse.Text(200, "posted"));
        s.Handle("GET", "/async", async env =>
        {
            await Task.Yield();
            return RackResponse.Text(200, "a");
        });
        s.Handle("GET", "/legacy", new LegacyHandler());
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task The_first_middleware_added_is_outermost_and_wraps_every_non_static_route_the_app_and_404(string version)
    {
        var order = new List<string>();
        await using var ts = await StartAsync(s =>
        {
            Routes(s);
            s.Use(next => async env =>
            {
                lock (order)
                {
                    order.Add("outer " + env.Path);
                }

                var r = await next(env);
                return r.WithHeader("x-outer", "1");
            });
            s.Use(next => env =>
            {
                lock (order)
                {
                    order.Add("inner " + env.Path);
                }

                return next(env);
            });
            s.Run(env => ValueTask.FromResult(RackResponse.Text(200, "app")));
        });
        using var client = ts.CreateHttpClient(version);
        foreach (var (path, body) in new[] { ("/dynamic", "d"), ("/async", "a"), ("/legacy", "legacy"), ("/elsewhere", "app") })
        {
            using var response = await client.GetAsync(path);
            (await response.Content.ReadAsStringAsync()).Should().Be(body);
            response.Headers.GetValues("x-outer").Should().Equal("1");
        }

        using var st = await client.GetAsync("/static");
        st.Headers.Contains("x-outer").Should().BeFalse("static routes are pre-built bytes and bypass middleware");
        order.Should().Equal(
            "outer /dynamic", "inner /dynamic", "outer /async", "inner /async",
            "outer /legacy", "inner /legacy", "outer /elsewhere", "inner /elsewhere");
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task A_middleware_short_circuits_and_the_server_s_own_404_and_405_pass_through_the_chain(string version)
    {
        await using var ts = await StartAsync(s =>
        {
            Routes(s);
            s.Use(new RequireKey());
        });
        using var client = ts.CreateHttpClient(version);
        (await client.GetAsync("/dynamic")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);

        client.DefaultRequestHeaders.Add("x-key", "k");
        using var ok = await client.GetAsync("/dynamic");
        (await ok.Content.ReadAsStringAsync()).Should().Be("d");
        ok.Headers.GetValues("x-checked").Should().Equal("yes");

        using var missing = await client.GetAsync("/nowhere");
        missing.StatusCode.Should().Be(HttpStatusCode.NotFound);
        missing.Headers.GetValues("x-checked").Should().Equal("yes");

        using var wrongMethod = await client.DeleteAsync("/dynamic");
        wrongMethod.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
        wrongMethod.Content.Headers.Allow.Should().Equal("GET", "HEAD", "POST");
        wrongMethod.Headers.GetValues("x-checked").Should().Equal("yes");
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task A_middleware_that_changes_the_method_or_path_is_routed_again(string version)
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

                if (env.Headers.Get("x-http-method-override") is { } m)
                {
                    env.Method = m;
                }

                return next(env);
            });
        });
        using var client = ts.CreateHttpClient(version);
        (await client.GetStringAsync("/v1/dynamic")).Should().Be("d");
        (await client.GetStringAsync("/v1/static")).Should().Be("s", "a rewritten path may land on a static route; its response is served as a value");
        using var post = new HttpRequestMessage(HttpMethod.Get, "/dynamic");
        post.Headers.Add("x-http-method-override", "POST");
        using var posted = await client.SendAsync(post);
        (await posted.Content.ReadAsStringAsync()).Should().Be("posted");
        (await client.GetAsync("/v1/nowhere")).StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Use_after_start_throws_and_the_in_process_client_runs_the_same_chain()
    {
        await using var ts = await StartAsync(s =>
        {
            Routes(s);
            s.Use(new RequireKey());
        });
        var act = () => ts.Server.Use(next => next);
        act.Should().Throw<InvalidOperationException>().WithMessage("*before StartAsync*");

        var server = new HyperionServer();
        server.Handle("GET", "/x", env => RackResponse.Text(200, "x"));
        server.Use(new RequireKey());
        using var inProcess = server.CreateClient();
        (await inProcess.GetAsync("/x")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        server.Invoking(s => s.Use(next => next)).Should().Throw<InvalidOperationException>();
        await server.DisposeAsync();
    }

    private sealed class RequireKey : IRackMiddleware
    {
        public async ValueTask<RackResponse> InvokeAsync(RackEnv env, RackApp next)
        {
            if (env.Headers.Get("x-key") != "k")
            {
                return RackResponse.Text(401, "no key");
            }

            var r = await next(env);
            return r.WithHeader("x-checked", "yes");
        }
    }

    private sealed class LegacyHandler : IRequestHandler
    {
        public ValueTask<RackResponse> HandleAsync(Request request) => ValueTask.FromResult(RackResponse.Text(200, "legacy"));
    }
}

public sealed class MiddlewareTestsOnSockets : MiddlewareTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class MiddlewareTestsOnIoUring : MiddlewareTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class MiddlewareTestsOnEpoll : MiddlewareTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
