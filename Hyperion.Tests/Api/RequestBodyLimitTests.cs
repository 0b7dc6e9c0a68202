using System.Net;
using Hyperion;
using Hyperion.Http2;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Api;

/// <summary>
/// env.MaxRequestBodySize: the server's limit per request, raised or lowered by a middleware or the handler before the
/// body is read; declared bodies over it are refused at the first read (before a byte, before 100 Continue), streamed
/// ones once they grow past it; HTTP/1.1 and h2c on every transport.
/// </summary>
public abstract class RequestBodyLimitTests : TransportTests
{
    private const int DefaultLimit = 1000;

    public static TheoryData<string, bool> VersionsAndFraming()
    {
        var data = new TheoryData<string, bool>();
        foreach (var version in new[] { "1.1", "2.0" })
        {
            data.Add(version, true);
            data.Add(version, false);
        }

        return data;
    }


    private Task<TestServer> StartLimited() => StartAsync(
        s =>
        {
            s.UseHttp2();
            s.Use(next => env =>
            {
                if (env.Path.StartsWith("/big", StringComparison.Ordinal))
                {
                    env.MaxRequestBodySize = 100_000;
                }

                return next(env);
            });
            s.Handle("POST", "/echo", CountAsync);
            s.Handle("POST", "/big", CountAsync);
            s.Handle("POST", "/big/ignore", env => RackResponse.Text(200, "ignored"));
            s.Handle("POST", "/late", async env =>
            {
                var buffer = new byte[1];
                _ = await env.Body.ReadAsync(buffer);
                try
                {
                    env.MaxRequestBodySize = 1;
                    return RackResponse.Text(200, "changed");
                }
                catch (InvalidOperationException)
                {
                    return RackResponse.Text(200, "fixed");
                }
            });
        },
        o => o.MaxRequestBodySize = DefaultLimit);

    private static async ValueTask<RackResponse> CountAsync(RackEnv env)
    {
        var buffer = new byte[8192];
        long total = 0;
        int n;
        while ((n = await env.Body.ReadAsync(buffer)) > 0)
        {
            total += n;
        }

        return RackResponse.Text(200, total.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static HttpContent Body(int size, bool declared)
        => declared ? new ByteArrayContent(new byte[size]) : new StreamContent(new MemoryStream(new byte[size]));

    [Theory]
    [MemberData(nameof(VersionsAndFraming))]
    public async Task A_middleware_raises_the_limit_for_one_route_and_the_default_still_holds_elsewhere(string version, bool declared)
    {
        await using var ts = await StartLimited();
        using var client = ts.CreateHttpClient(version);
        using (var big = await client.PostAsync("/big", Body(50_000, declared)))
        {
            big.StatusCode.Should().Be(HttpStatusCode.OK);
            (await big.Content.ReadAsStringAsync()).Should().Be("50000");
        }

        using (var small = await client.PostAsync("/echo", Body(DefaultLimit, declared)))
        {
            (await small.Content.ReadAsStringAsync()).Should().Be("1000");
        }

        using var over = await client.PostAsync("/echo", Body(5_000, declared));
        over.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);

        using var overRaised = await client.PostAsync("/big", Body(150_000, declared));
        overRaised.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task With_Expect_100_continue_a_raised_limit_invites_the_body_and_the_default_refuses_without_inviting()
    {
        await using var ts = await StartLimited();
        using (var c = await ts.ConnectAsync())
        {
            await c.SendAsync("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n");
            var refused = await c.ReadResponseAsync();
            refused.Status.Should().Be(413, "refused before the client is invited to send a byte");
            refused.Header("Connection").Should().Be("close");
        }

        using var raised = await ts.ConnectAsync();
        await raised.SendAsync("POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n");
        (await raised.ReadHeadAsync()).Status.Should().Be(100);
        await raised.SendAsync(new string('x', 5000));
        var ok = await raised.ReadResponseAsync();
        ok.Status.Should().Be(200);
        ok.BodyText.Should().Be("5000");
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task The_limit_cannot_change_once_the_body_is_read(string version)
    {
        await using var ts = await StartLimited();
        using var client = ts.CreateHttpClient(version);
        using var r = await client.PostAsync("/late", Body(10, declared: true));
        (await r.Content.ReadAsStringAsync()).Should().Be("fixed");
    }

    [Fact]
    public async Task A_handler_that_never_reads_a_body_over_the_limit_answers_and_HTTP1_closes_instead_of_draining()
    {
        await using var ts = await StartAsync(
            s => s.Handle("POST", "/ignore", env => RackResponse.Text(200, "ignored")),
            o => o.MaxRequestBodySize = DefaultLimit);
        using var c = await ts.ConnectAsync();
        await c.SendAsync("POST /ignore HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n" + new string('x', 2000));
        var r = await c.ReadResponseAsync();
        r.Status.Should().Be(200);
        r.Header("Connection").Should().Be("close");
        (await c.IsClosedByServerAsync()).Should().BeTrue();
    }
}

public sealed class RequestBodyLimitTestsOnSockets : RequestBodyLimitTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class RequestBodyLimitTestsOnIoUring : RequestBodyLimitTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class RequestBodyLimitTestsOnEpoll : RequestBodyLimitTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
