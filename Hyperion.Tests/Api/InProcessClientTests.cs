using System.Net;
using System.Net.Http.Headers;
using Hyperion;

namespace Hyperion.Tests.Api;

/// <summary>server.CreateClient(): an HttpClient over an in-memory pipe into the same HTTP/1.1 code. No socket, no port.</summary>
public class InProcessClientTests
{
    private static HyperionServer NewServer()
    {
        var server = new HyperionServer(new HyperionOptions { Port = 0 });
        server.HandleStatic("GET", "/static", "static!");
        server.Handle("GET", "/dynamic", env => RackResponse.Text(200, "dynamic " + env.QueryString));
        server.Handle("POST", "/upload", async env =>
        {
            long total = 0;
            var buffer = new byte[8192];
            int n;
            while ((n = await env.Body.ReadAsync(buffer)) > 0)
            {
                total += n;
            }

            return RackResponse.Text(200, total.ToString(System.Globalization.CultureInfo.InvariantCulture));
        });
        server.Run(env => ValueTask.FromResult(RackResponse.Text(404, "app miss " + env.Path)));
        return server;
    }

    [Fact]
    public async Task Works_without_starting_the_server_or_opening_a_port()
    {
        await using var server = NewServer();
        using var client = server.CreateClient();
        (await client.GetStringAsync("/static")).Should().Be("static!");
        (await client.GetStringAsync("/dynamic?a=1")).Should().Be("dynamic a=1");
        var miss = await client.GetAsync("/nothing");
        miss.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await miss.Content.ReadAsStringAsync()).Should().Be("app miss /nothing");
        server.Endpoints.Should().BeEmpty();
    }

    [Fact]
    public async Task Streams_request_bodies_chunked_and_sized()
    {
        await using var server = NewServer();
        using var client = server.CreateClient();
        var sized = await client.PostAsync("/upload", new ByteArrayContent(new byte[1_000_000]));
        (await sized.Content.ReadAsStringAsync()).Should().Be("1000000");

        var chunked = new StreamContent(new MemoryStream(new byte[250_000]));
        var request = new HttpRequestMessage(HttpMethod.Post, "/upload") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        var r = await client.SendAsync(request);
        (await r.Content.ReadAsStringAsync()).Should().Be("250000");
    }

    [Fact]
    public async Task Many_concurrent_requests_all_succeed()
    {
        await using var server = NewServer();
        using var client = server.CreateClient();
        var tasks = Enumerable.Range(0, 200).Select(i => client.GetStringAsync($"/dynamic?i={i}")).ToArray();
        var results = await Task.WhenAll(tasks);
        results.Should().BeEquivalentTo(Enumerable.Range(0, 200).Select(i => $"dynamic i={i}"));
    }

    [Fact]
    public async Task Head_and_content_headers_come_through()
    {
        await using var server = NewServer();
        using var client = server.CreateClient();
        var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/static"));
        head.StatusCode.Should().Be(HttpStatusCode.OK);
        head.Content.Headers.ContentLength.Should().Be(7);
        head.Content.Headers.ContentType.Should().Be(MediaTypeHeaderValue.Parse("text/plain"));
    }
}
