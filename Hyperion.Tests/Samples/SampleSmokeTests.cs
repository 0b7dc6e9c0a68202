using System.Net;
using System.Text;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Samples;

/// <summary>The samples, started as their own processes the way the README runs them, answer as documented and stop on SIGTERM.</summary>
public class SampleSmokeTests
{
    [Fact]
    public async Task Hello_answers_every_route_kind_and_stops_on_SIGTERM()
    {
        await using var sample = await SampleProcess.StartAsync("Hello");
        using var client = new HttpClient { BaseAddress = sample.BaseAddress };
        foreach (var path in new[] { "/static", "/dynamic", "/legacy", "/app", "/anything/else" })
        {
            using var response = await client.GetAsync(path);
            response.StatusCode.Should().Be(HttpStatusCode.OK, path);
            response.Content.Headers.ContentType!.MediaType.Should().Be("text/plain", path);
            (await response.Content.ReadAsStringAsync()).Should().Be("Hello, World!", path);
        }

        // The same routes over h2c (prior knowledge): the samples turn HTTP/2 on.
        using var h2c = new HttpClient
        {
            BaseAddress = sample.BaseAddress,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        foreach (var path in new[] { "/static", "/dynamic", "/legacy", "/app" })
        {
            using var response = await h2c.GetAsync(path);
            response.Version.Should().Be(HttpVersion.Version20, path);
            (await response.Content.ReadAsStringAsync()).Should().Be("Hello, World!", path);
        }

        (await sample.StopAsync()).Should().Be(0, "SIGTERM is a graceful stop");
    }

    [Fact]
    public async Task Hello_with_protocols_http2_is_an_http2_only_port()
    {
        await using var sample = await SampleProcess.StartAsync("Hello", "--protocols", "http2");
        using var h2c = new HttpClient
        {
            BaseAddress = sample.BaseAddress,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        foreach (var path in new[] { "/static", "/dynamic", "/legacy", "/app" })
        {
            using var response = await h2c.GetAsync(path);
            response.Version.Should().Be(HttpVersion.Version20, path);
            (await response.Content.ReadAsStringAsync()).Should().Be("Hello, World!", path);
        }

        // An HTTP/1.1 request is not answered with a status line: GOAWAY PROTOCOL_ERROR, then the close (RFC 9113 §3.4).
        await using (var c = await Http2.H2RawClient.ConnectAsync(sample.Port, handshake: false))
        {
            await c.SendAsync(Encoding.ASCII.GetBytes("GET /static HTTP/1.1\r\nHost: a\r\n\r\n"));
            (await c.ExpectGoAwayAsync()).ErrorCode.Should().Be(Http2.H2.ProtocolError);
            (await c.ClosedAsync()).Should().BeTrue();
        }

        sample.Output.Should().Contain(l => l.Contains("HTTP/2 only", StringComparison.Ordinal));
        (await sample.StopAsync()).Should().Be(0);
    }

    [Fact]
    public async Task Echo_with_protocols_http1_never_speaks_http2()
    {
        await using var sample = await SampleProcess.StartAsync("Echo", "--protocols", "http1");
        using var c = await RawConnection.ConnectAsync(sample.Port);
        await c.SendAsync("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: \r\n\r\n");
        var response = await c.ReadResponseAsync();
        response.Status.Should().Be(200, "Upgrade: h2c is ignored on an HTTP/1.1-only port");
        response.BodyText.Should().Be("OK");

        using var h2c = new HttpClient { BaseAddress = sample.BaseAddress, DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        await h2c.Invoking(h => h.GetAsync("/")).Should().ThrowAsync<HttpRequestException>();
        (await sample.StopAsync()).Should().Be(0);
    }

    [Fact]
    public async Task Echo_is_a_conformance_target()
    {
        await using var sample = await SampleProcess.StartAsync("Echo");
        using var client = new HttpClient { BaseAddress = sample.BaseAddress };

        using (var root = await client.GetAsync("/"))
        {
            root.StatusCode.Should().Be(HttpStatusCode.OK);
            (await root.Content.ReadAsStringAsync()).Should().Be("OK");
            root.Content.Headers.ContentType!.MediaType.Should().Be("text/plain");
        }

        using (var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/")))
        {
            head.StatusCode.Should().Be(HttpStatusCode.OK);
            head.Content.Headers.ContentLength.Should().Be(2, "HEAD carries GET's headers");
            (await head.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
        }

        var payload = new byte[200_000];
        new Random(7).NextBytes(payload);
        using (var post = await client.PostAsync("/", new ByteArrayContent(payload)))
        {
            post.StatusCode.Should().Be(HttpStatusCode.OK);
            (await post.Content.ReadAsByteArrayAsync()).Should().Equal(payload);
        }

        using (var options = await client.SendAsync(new HttpRequestMessage(HttpMethod.Options, "/")))
        {
            options.StatusCode.Should().Be(HttpStatusCode.OK);
            options.Content.Headers.Allow.Should().Equal("GET", "HEAD", "POST", "OPTIONS");
        }

        (await client.GetAsync("/missing")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        using (var wrongMethod = await client.DeleteAsync("/echo"))
        {
            wrongMethod.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
            wrongMethod.Content.Headers.Allow.Should().Contain(["GET", "POST"]);
        }

        (await sample.StopAsync()).Should().Be(0);
    }

    [Fact]
    public async Task Echo_reports_fields_in_arrival_order_with_names_as_sent_and_decodes_chunked_bodies()
    {
        await using var sample = await SampleProcess.StartAsync("Echo");
        using var c = await RawConnection.ConnectAsync(sample.Port);

        await c.SendAsync("GET /echo HTTP/1.1\r\nHost: a\r\nX-Second: 2\r\nx-first: 1\r\nX-MIXED-case: v a l\r\n\r\n");
        var echo = await c.ReadResponseAsync();
        echo.Status.Should().Be(200);
        echo.BodyText.Should().Be("Host: a\nX-Second: 2\nx-first: 1\nX-MIXED-case: v a l\n");

        await c.SendAsync("POST /cookie HTTP/1.1\r\nHost: a\r\nCookie: a=1; b=two\r\nCookie: c=3\r\nContent-Length: 0\r\n\r\n");
        (await c.ReadResponseAsync()).BodyText.Should().Be("a=1\nb=two\nc=3\n");

        await c.SendAsync("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
        (await c.ReadResponseAsync()).BodyText.Should().Be("hello world");

        await c.SendAsync("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
        (await c.ReadResponseAsync()).Status.Should().Be(200);

        await c.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"));
        (await c.ReadResponseAsync()).Status.Should().Be(400, "the sample inherits the server's strict parser");
    }
}
