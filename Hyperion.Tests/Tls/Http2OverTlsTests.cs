using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using Hyperion;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Native;

namespace Hyperion.Tests.Tls;

/// <summary>HTTP/2 over TLS: ALPN selects h2 when HTTP/2 is enabled, and the same routes answer over it.</summary>
public abstract class Http2OverTlsTests : TransportTests
{
    private Task<TestServer> StartH2sAsync() => StartAsync(
        s =>
        {
            s.UseHttp2();
            s.HandleStatic("GET", "/static", "static over h2");
            s.Handle("GET", "/dynamic", env => RackResponse.Text(200, $"{env.Protocol} {env["rack.url_scheme"]} {env["HTTPS"]}"));
            s.Handle("POST", "/echo", async env =>
            {
                var ms = new MemoryStream();
                await env.Body.CopyToAsync(ms);
                return RackResponse.Bytes(200, ms.ToArray()) with { Trailers = [("x-length", ms.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))] };
            });
            s.Run(env => ValueTask.FromResult(RackResponse.Text(200, $"app {env.Path}")));
        },
        o => o.UseTls(TestCertificate.Certificate));

    private static HttpClient CreateH2Client(Uri baseAddress)
    {
        var client = TestCertificate.CreateHttpClient(baseAddress);
        client.DefaultRequestVersion = HttpVersion.Version20;
        client.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        return client;
    }

    [Fact]
    public async Task Alpn_selects_h2_when_http2_is_enabled_and_http11_when_asked_for_only_that()
    {
        await using var ts = await StartH2sAsync();
        await using (var h2 = await TestCertificate.ConnectAsync(ts.Port, new SslClientAuthenticationOptions { ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11] }))
        {
            h2.NegotiatedApplicationProtocol.Should().Be(SslApplicationProtocol.Http2);
        }

        await using var h1 = await TestCertificate.ConnectAsync(ts.Port, new SslClientAuthenticationOptions { ApplicationProtocols = [SslApplicationProtocol.Http11] });
        h1.NegotiatedApplicationProtocol.Should().Be(SslApplicationProtocol.Http11);
    }

    [Fact]
    public async Task Every_route_kind_answers_over_h2_with_the_https_scheme()
    {
        await using var ts = await StartH2sAsync();
        using var client = CreateH2Client(ts.BaseAddress);

        using (var r = await client.GetAsync("/static"))
        {
            r.Version.Should().Be(HttpVersion.Version20);
            (await r.Content.ReadAsStringAsync()).Should().Be("static over h2");
        }

        (await client.GetStringAsync("/dynamic")).Should().Be("HTTP/2 https on");
        (await client.GetStringAsync("/a/b")).Should().Be("app /a/b");
    }

    [Fact]
    public async Task A_large_body_echoes_over_h2_with_trailers()
    {
        await using var ts = await StartH2sAsync();
        using var client = CreateH2Client(ts.BaseAddress);
        var body = RandomNumberGenerator.GetBytes(2 * 1024 * 1024 + 5);

        using var response = await client.PostAsync("/echo", new ByteArrayContent(body));

        response.Version.Should().Be(HttpVersion.Version20);
        (await response.Content.ReadAsByteArrayAsync()).Should().Equal(body);
        response.TrailingHeaders.GetValues("x-length").Should().Equal(body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [RequiresToolFact("curl")]
    public async Task Curl_negotiates_h2_over_tls()
    {
        await using var ts = await StartH2sAsync();
        var (exit, stdout, stderr) = await ToolProcess.RunAsync("curl", ["-sk", "--http2", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", new Uri(ts.BaseAddress, "/static").ToString()]);
        exit.Should().Be(0, stderr);
        stdout.Should().Be("2 200");
    }
}

public sealed class Http2OverTlsTestsOnSockets : Http2OverTlsTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class Http2OverTlsTestsOnIoUring : Http2OverTlsTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class Http2OverTlsTestsOnEpoll : Http2OverTlsTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
