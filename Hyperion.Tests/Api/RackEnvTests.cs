using System.Net;
using System.Text;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Api;

/// <summary>The env's typed members and its Rack-key view, seen from an app.</summary>
public abstract class RackEnvTests : TransportTests
{
    [Fact]
    public async Task Rack_keys_match_the_request_over_a_socket()
    {
        Dictionary<string, object?>? seen = null;
        bool typedAgrees = false;
        await using var ts = await StartAsync(s => s.Run(env =>
        {
            seen = new[]
            {
                "REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL",
                "REMOTE_ADDR", "SCRIPT_NAME", "CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_X_CUSTOM_HEADER", "HTTP_ACCEPT",
                "HTTP_HOST", "rack.url_scheme", "HTTP_X_UNDER_SCORE", "HTTP_CONTENT_TYPE",
            }.ToDictionary(k => k, k => env[k]);
            typedAgrees = env.Method == "POST" && env.Path == "/a/b" && env.QueryString == "x=1&y=2"
                && env.Headers["x-custom-header"] == "v1, v2" && env.RemoteEndPoint!.Address.Equals(IPAddress.Loopback)
                && ReferenceEquals(env["rack.input"], env.Body);
            return ValueTask.FromResult(RackResponse.Empty(204));
        }));
        using var c = await ts.ConnectAsync();
        await c.SendAsync("POST /a/b?x=1&y=2 HTTP/1.1\r\nHost: example.test:8443\r\nX-Custom-Header: v1\r\nAccept: */*\r\nX-Custom-Header: v2\r\n" +
                          "X_Under_Score: sneaky\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc");
        (await c.ReadResponseAsync()).Status.Should().Be(204);
        typedAgrees.Should().BeTrue();
        seen!["REQUEST_METHOD"].Should().Be("POST");
        seen["PATH_INFO"].Should().Be("/a/b");
        seen["QUERY_STRING"].Should().Be("x=1&y=2");
        seen["SERVER_NAME"].Should().Be("example.test");
        seen["SERVER_PORT"].Should().Be("8443");
        seen["SERVER_PROTOCOL"].Should().Be("HTTP/1.1");
        seen["REMOTE_ADDR"].Should().Be("127.0.0.1");
        seen["SCRIPT_NAME"].Should().Be(string.Empty);
        seen["CONTENT_TYPE"].Should().Be("text/plain");
        seen["CONTENT_LENGTH"].Should().Be("3");
        seen["HTTP_X_CUSTOM_HEADER"].Should().Be("v1, v2");
        seen["HTTP_ACCEPT"].Should().Be("*/*");
        seen["HTTP_HOST"].Should().Be("example.test:8443");
        seen["rack.url_scheme"].Should().Be("http");

        // A name with '_' would alias X-Under-Score in CGI naming: it is left out of the Rack view.
        seen["HTTP_X_UNDER_SCORE"].Should().BeNull();
        seen["HTTP_CONTENT_TYPE"].Should().BeNull();
    }

    [Fact]
    public async Task Host_without_port_gives_the_listener_port()
    {
        string? port = null;
        await using var ts = await StartAsync(s => s.Run(env =>
        {
            port = (string?)env["SERVER_PORT"];
            return ValueTask.FromResult(RackResponse.Empty(204));
        }));
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        await c.ReadResponseAsync();
        port.Should().Be(ts.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task App_keys_are_per_request_and_server_keys_are_read_only()
    {
        var results = new List<string>();
        await using var ts = await StartAsync(s =>
        {
            s.OnRequestStart(env => env["app.user"] = "from-hook:" + env.Path);
            s.Run(env =>
            {
                results.Add((string)env["app.user"]!);
                var threw = false;
                try
                {
                    env["HTTP_HOST"] = "spoofed";
                }
                catch (InvalidOperationException)
                {
                    threw = true;
                }

                env["PATH_INFO"] = "/rewritten";
                results.Add($"{threw} {env.Path} {env.ContainsKey("app.user")}");
                return ValueTask.FromResult(RackResponse.Empty(204));
            });
        });
        using var client = ts.Server.CreateClient();
        await client.GetAsync("/one");
        await client.GetAsync("/two");
        results.Should().Equal("from-hook:/one", "True /rewritten True", "from-hook:/two", "True /rewritten True");
    }

    [Fact]
    public async Task Keys_lists_standard_and_header_keys()
    {
        List<string>? keys = null;
        await using var ts = await StartAsync(s => s.Run(env =>
        {
            keys = env.Keys.ToList();
            return ValueTask.FromResult(RackResponse.Empty(204));
        }));
        using var client = ts.Server.CreateClient();
        using var req = new HttpRequestMessage(HttpMethod.Get, "/");
        req.Headers.Add("X-Thing", "1");
        await client.SendAsync(req);
        keys.Should().Contain(["REQUEST_METHOD", "PATH_INFO", "rack.input", "HTTP_X_THING", "HTTP_HOST"]);
    }

    [Fact]
    public async Task Env_is_reset_between_requests_on_a_pooled_instance()
    {
        var seen = new List<string>();
        await using var ts = await StartAsync(s => s.Run(env =>
        {
            seen.Add($"{env.Path}|{env.QueryString}|{env.Headers.Count}|{env["app.mark"] ?? "none"}");
            env["app.mark"] = "set";
            return ValueTask.FromResult(RackResponse.Empty(204));
        }));
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET /a?q=1 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n");
        await c.ReadResponseAsync();
        await c.SendAsync("GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
        await c.ReadResponseAsync();
        seen.Should().Equal("/a|q=1|2|none", "/b||1|none");
    }

    [Fact]
    public async Task Header_values_keep_obs_text_bytes()
    {
        string? value = null;
        await using var ts = await StartAsync(s => s.Run(env =>
        {
            value = env.Headers["X-Latin"];
            return ValueTask.FromResult(RackResponse.Empty(204));
        }));
        using var c = await ts.ConnectAsync();
        await c.SendAsync(Encoding.Latin1.GetBytes("GET / HTTP/1.1\r\nHost: x\r\nX-Latin: caf\u00e9\r\n\r\n"));
        await c.ReadResponseAsync();
        value.Should().Be("caf\u00e9");
    }
}

public sealed class RackEnvTestsOnSockets : RackEnvTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class RackEnvTestsOnIoUring : RackEnvTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class RackEnvTestsOnEpoll : RackEnvTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
