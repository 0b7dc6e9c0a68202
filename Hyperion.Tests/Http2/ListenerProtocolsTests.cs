using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Hyperion;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Native;
using Hyperion.Tests.Tls;

namespace Hyperion.Tests.Http2;

/// <summary>
/// Each listener serves its own <see cref="HttpProtocols"/>: an HTTP/2-only cleartext port answers anything but the
/// client preface with GOAWAY PROTOCOL_ERROR (RFC 9113 §3.4), an HTTP/1.1-only port never turns into HTTP/2, and TLS
/// listeners offer in ALPN exactly their protocols. HTTP/2 is enabled on every server here, so what refuses HTTP/2
/// is the listener, not a missing <c>UseHttp2</c>.
/// </summary>
public abstract class ListenerProtocolsTests : TransportTests
{
    private const string Http11Request = "GET /proto HTTP/1.1\r\nHost: localhost\r\n\r\n";

    private static void Routes(HyperionServer s)
    {
        s.UseHttp2();
        s.Handle("GET", "/proto", env => RackResponse.Text(200, env.Protocol));
    }

    private Task<TestServer> StartAsync(HttpProtocols protocols) => StartAsync(Routes, o => o.Protocols = protocols);

    private Task<TestServer> StartTlsAsync(HttpProtocols protocols) => StartAsync(Routes, o => o.ListenTls(IPAddress.Loopback, 0, TestCertificate.Certificate, protocols));

    private string Url(TestServer ts, string scheme = "http") => $"{scheme}://127.0.0.1:{ts.Port}/proto";

    // ---------------- HTTP/2-only cleartext ----------------

    [Fact]
    public async Task Http2_only_port_answers_an_http11_request_with_settings_then_goaway_protocol_error_and_closes()
    {
        await using var ts = await StartAsync(HttpProtocols.Http2);
        await using var c = await H2RawClient.ConnectAsync(ts.Port, handshake: false);
        await c.SendAsync(Encoding.ASCII.GetBytes(Http11Request));

        // RFC 9113 §3.4: our preface (SETTINGS) is sent first; the invalid client preface is a PROTOCOL_ERROR.
        var first = await c.ReadFrameAsync();
        first.Should().NotBeNull();
        first!.Type.Should().Be(H2.Settings, "the server preface comes before anything else, never an HTTP/1.1 status line");
        var goAway = await c.ExpectGoAwayAsync();
        goAway.ErrorCode.Should().Be(H2.ProtocolError);
        goAway.LastStreamId.Should().Be(0);
        (await c.ClosedAsync()).Should().BeTrue("the connection is closed after the GOAWAY");
        c.Received.Select(f => f.Type).Should().Equal([H2.Settings, H2.WindowUpdate, H2.GoAway], "our preface (SETTINGS, connection WINDOW_UPDATE), then the GOAWAY");
    }

    [Fact]
    public async Task Http2_only_port_refuses_an_h2c_upgrade_request_the_same_way()
    {
        await using var ts = await StartAsync(HttpProtocols.Http2);
        await using var c = await H2RawClient.ConnectAsync(ts.Port, handshake: false);
        await c.SendAsync(Encoding.ASCII.GetBytes("GET /proto HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: \r\n\r\n"));

        (await c.ExpectGoAwayAsync()).ErrorCode.Should().Be(H2.ProtocolError);
        (await c.ClosedAsync()).Should().BeTrue();
    }

    [Fact]
    public async Task Http2_only_port_serves_prior_knowledge_clients()
    {
        await using var ts = await StartAsync(HttpProtocols.Http2);
        await using (var c = await H2RawClient.ConnectAsync(ts.Port))
        {
            await c.SendHeadersAsync(1, true, H2.Get("/proto"));
            var r = await c.ReadResponseAsync(1);
            r.Status.Should().Be(200);
            Encoding.ASCII.GetString(r.Body).Should().Be("HTTP/2");
        }

        using var client = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await client.GetAsync(Url(ts));
        response.Version.Should().Be(HttpVersion.Version20);
        (await response.Content.ReadAsStringAsync()).Should().Be("HTTP/2");
    }

    [RequiresToolFact("curl")]
    public async Task Curl_with_http2_prior_knowledge_is_served_and_plain_curl_is_not()
    {
        await using var ts = await StartAsync(HttpProtocols.Http2);
        var (code, output, err) = await ToolProcess.RunAsync("curl", "-sS", "--max-time", "10", "--http2-prior-knowledge", "-w", " %{http_version} %{http_code}", Url(ts));
        code.Should().Be(0, err);
        output.Should().Be("HTTP/2 2 200");

        // An HTTP/1.1 client reads our SETTINGS and GOAWAY as garbage: it fails, it never sees a status.
        (code, output, _) = await ToolProcess.RunAsync("curl", "-sS", "--max-time", "10", "--http1.1", "-w", "%{http_code}", Url(ts));
        code.Should().NotBe(0);
        output.Should().Be("000");
    }

    [RequiresToolFact("nghttp")]
    public async Task Nghttp_is_served_on_an_http2_only_port()
    {
        await using var ts = await StartAsync(HttpProtocols.Http2);
        var (code, output, err) = await ToolProcess.RunAsync("nghttp", "-nv", Url(ts));
        code.Should().Be(0, output + err);
        output.Should().Contain("recv SETTINGS frame").And.Contain(":status: 200");
        output.Should().NotContain("recv GOAWAY").And.NotContain("PROTOCOL_ERROR");
    }

    // ---------------- HTTP/1.1-only cleartext ----------------

    [Fact]
    public async Task Http1_only_port_answers_the_http2_preface_as_an_http11_request_for_an_unsupported_version()
    {
        await using var ts = await StartAsync(HttpProtocols.Http1);
        using var c = await RawConnection.ConnectAsync(ts.Port);
        await c.SendAsync(H2RawClient.Preface);

        // Its request line reads as method PRI, version HTTP/2.0: the version HTTP/1.1 does not serve (RFC 9110 §15.6.6).
        var response = await c.ReadResponseAsync();
        response.StatusLine.Should().StartWith("HTTP/1.1 505");
        response.Header("Connection").Should().Be("close");
        (await c.IsClosedByServerAsync()).Should().BeTrue();
    }

    [Fact]
    public async Task Http1_only_port_ignores_upgrade_h2c_and_answers_over_http11()
    {
        await using var ts = await StartAsync(HttpProtocols.Http1);
        using var c = await RawConnection.ConnectAsync(ts.Port);
        await c.SendAsync("GET /proto HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: \r\n\r\n");

        var response = await c.ReadResponseAsync();
        response.Status.Should().Be(200, "RFC 7540 §3.2: a server that does not switch answers as if Upgrade were absent");
        response.BodyText.Should().Be("HTTP/1.1");

        // Still HTTP/1.1 on the same connection.
        await c.SendAsync(Http11Request);
        (await c.ReadResponseAsync()).BodyText.Should().Be("HTTP/1.1");
    }

    [RequiresToolFact("curl")]
    public async Task Curl_asking_for_h2c_gets_http11_on_an_http1_only_port()
    {
        await using var ts = await StartAsync(HttpProtocols.Http1);
        var (code, output, err) = await ToolProcess.RunAsync("curl", "-sS", "--max-time", "10", "--http2", "-w", " %{http_version} %{http_code}", Url(ts));
        code.Should().Be(0, err);
        output.Should().Be("HTTP/1.1 1.1 200");
    }

    // ---------------- both, and several listeners on one server ----------------

    [Fact]
    public async Task Each_listener_of_one_server_keeps_its_own_protocols()
    {
        await using var ts = await StartAsync(Routes, o => o
            .Listen(IPAddress.Loopback, 0, HttpProtocols.Http1)
            .Listen(IPAddress.Loopback, 0, HttpProtocols.Http2)
            .Listen(IPAddress.Loopback, 0));
        var h1 = ts.Server.Endpoints[0].Port;
        var h2 = ts.Server.Endpoints[1].Port;
        var both = ts.Server.Endpoints[2].Port;

        // Every connection is open before any is closed, so none is accepted on a descriptor number another just freed.
        await using var h2OnH2 = await H2RawClient.ConnectAsync(h2);
        await using var h2OnBoth = await H2RawClient.ConnectAsync(both);
        using var h1OnH1 = await RawConnection.ConnectAsync(h1);
        using var h1OnBoth = await RawConnection.ConnectAsync(both);
        using var prefaceOnH1 = await RawConnection.ConnectAsync(h1);
        await using var h1OnH2 = await H2RawClient.ConnectAsync(h2, handshake: false);

        foreach (var (c, port) in new[] { (h2OnH2, h2), (h2OnBoth, both) })
        {
            await c.SendHeadersAsync(1, true, H2.Get("/proto"));
            Encoding.ASCII.GetString((await c.ReadResponseAsync(1)).Body).Should().Be("HTTP/2", $"port {port} serves HTTP/2");
        }

        foreach (var (c, port) in new[] { (h1OnH1, h1), (h1OnBoth, both) })
        {
            await c.SendAsync(Http11Request);
            (await c.ReadResponseAsync()).BodyText.Should().Be("HTTP/1.1", $"port {port} serves HTTP/1.1");
        }

        await prefaceOnH1.SendAsync(H2RawClient.Preface);
        (await prefaceOnH1.ReadResponseAsync()).Status.Should().Be(505, "the HTTP/1.1-only port does not take the preface");

        await h1OnH2.SendAsync(Encoding.ASCII.GetBytes(Http11Request));
        (await h1OnH2.ExpectGoAwayAsync()).ErrorCode.Should().Be(H2.ProtocolError, "the HTTP/2-only port does not take HTTP/1.1");
    }

    [Fact]
    public async Task Stop_reaches_an_http2_session_that_began_as_http11_through_its_connection()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartAsync(s =>
        {
            Routes(s);
            s.Handle("GET", "/slow", async env =>
            {
                started.TrySetResult();
                await release.Task;
                return RackResponse.Text(200, "done");
            });
        });
        await using var c = await H2RawClient.ConnectAsync(ts.Port);
        await c.SendHeadersAsync(1, true, H2.Get("/slow"));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // The HTTP/2 session was chosen by the preface sniff inside HTTP/1.1; the stop must still reach it.
        var stop = ts.Server.StopAsync(TimeSpan.FromSeconds(10));
        var goAway = await c.ExpectGoAwayAsync();
        goAway.ErrorCode.Should().Be(H2.NoError);
        goAway.LastStreamId.Should().Be(int.MaxValue, "RFC 9113 §6.8: the first GOAWAY of a graceful stop");
        release.SetResult();
        (await c.ReadResponseAsync(1)).Status.Should().Be(200, "the in-flight stream finishes");
        await stop.WaitAsync(TimeSpan.FromSeconds(10));
        ts.Server.ConnectionCount.Should().Be(0);
    }

    // ---------------- TLS: ALPN offers the listener's protocols ----------------

    private static HttpClient TlsClient(TestServer ts, Version version)
    {
        var client = TestCertificate.CreateHttpClient(ts.BaseAddress);
        client.DefaultRequestVersion = version;
        client.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        return client;
    }

    [Fact]
    public async Task Http2_only_tls_listener_serves_h2_and_fails_the_handshake_of_an_http11_client()
    {
        await using var ts = await StartTlsAsync(HttpProtocols.Http2);
        using (var h2 = TlsClient(ts, HttpVersion.Version20))
        {
            using var response = await h2.GetAsync("/proto");
            response.Version.Should().Be(HttpVersion.Version20);
            (await response.Content.ReadAsStringAsync()).Should().Be("HTTP/2");
        }

        using (var h1 = TlsClient(ts, HttpVersion.Version11))
        {
            await h1.Invoking(c => c.GetAsync("/proto")).Should().ThrowAsync<HttpRequestException>();
        }

        // RFC 7301 §3.2: no protocol in common is the no_application_protocol alert.
        var refused = await FluentActions.Awaiting(() => TestCertificate.ConnectAsync(ts.Port, new SslClientAuthenticationOptions { ApplicationProtocols = [SslApplicationProtocol.Http11] }))
            .Should().ThrowAsync<AuthenticationException>();
        Describe(refused.Which).Should().Contain("no application protocol");
    }

    [Fact]
    public async Task Http2_only_tls_listener_speaks_http2_to_a_client_without_alpn()
    {
        await using var ts = await StartTlsAsync(HttpProtocols.Http2);
        await using var ssl = await TestCertificate.ConnectAsync(ts.Port, new SslClientAuthenticationOptions());
        ssl.NegotiatedApplicationProtocol.Should().Be(default(SslApplicationProtocol));
        await ssl.WriteAsync(Encoding.ASCII.GetBytes(Http11Request));

        var frames = await ReadFramesUntilCloseAsync(ssl);
        frames.Select(f => f.Type).Should().Equal(H2.Settings, H2.WindowUpdate, H2.GoAway);
        BinaryPrimitives.ReadUInt32BigEndian(frames[2].Payload.AsSpan(4)).Should().Be(H2.ProtocolError);
    }

    [Fact]
    public async Task Http1_only_tls_listener_offers_only_http11_in_alpn()
    {
        await using var ts = await StartTlsAsync(HttpProtocols.Http1);
        await using (var both = await TestCertificate.ConnectAsync(ts.Port, new SslClientAuthenticationOptions { ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11] }))
        {
            both.NegotiatedApplicationProtocol.Should().Be(SslApplicationProtocol.Http11, "h2 is enabled on the server but not on this listener");
        }

        using (var h1 = TlsClient(ts, HttpVersion.Version11))
        {
            using var response = await h1.GetAsync("/proto");
            response.Version.Should().Be(HttpVersion.Version11);
            (await response.Content.ReadAsStringAsync()).Should().Be("HTTP/1.1");
        }

        using (var h2 = TlsClient(ts, HttpVersion.Version20))
        {
            await h2.Invoking(c => c.GetAsync("/proto")).Should().ThrowAsync<HttpRequestException>();
        }
    }

    [Fact]
    public async Task Http1_and_http2_tls_listener_lets_alpn_choose()
    {
        await using var ts = await StartTlsAsync(HttpProtocols.Http1AndHttp2);
        foreach (var version in new[] { HttpVersion.Version20, HttpVersion.Version11 })
        {
            using var client = TlsClient(ts, version);
            using var response = await client.GetAsync("/proto");
            response.Version.Should().Be(version);
            (await response.Content.ReadAsStringAsync()).Should().Be(version == HttpVersion.Version20 ? "HTTP/2" : "HTTP/1.1");
        }
    }

    [RequiresToolFact("curl")]
    public async Task Curl_over_tls_gets_what_each_listener_offers()
    {
        await using var h2Only = await StartTlsAsync(HttpProtocols.Http2);
        await using var h1Only = await StartTlsAsync(HttpProtocols.Http1);
        string[] Args(TestServer ts, string version) => ["-sSk", "--max-time", "10", version, "-w", " %{http_version} %{http_code}", Url(ts, "https")];

        var (code, output, err) = await ToolProcess.RunAsync("curl", Args(h2Only, "--http2"));
        code.Should().Be(0, err);
        output.Should().Be("HTTP/2 2 200");

        (code, _, err) = await ToolProcess.RunAsync("curl", Args(h2Only, "--http1.1"));
        code.Should().Be(35, "curl's SSL connect error: the handshake ends with no_application_protocol; " + err);

        (code, output, err) = await ToolProcess.RunAsync("curl", Args(h1Only, "--http2"));
        code.Should().Be(0, err);
        output.Should().Be("HTTP/1.1 1.1 200", "curl offers h2 and http/1.1; the listener picks http/1.1");

        (code, output, err) = await ToolProcess.RunAsync("curl", Args(h1Only, "--http1.1"));
        code.Should().Be(0, err);
        output.Should().Be("HTTP/1.1 1.1 200");
    }

    private static string Describe(Exception ex)
    {
        var text = new StringBuilder();
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            text.Append(e.Message).Append(" | ");
        }

        return text.ToString();
    }

    private static async Task<List<H2Frame>> ReadFramesUntilCloseAsync(Stream stream)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var bytes = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, cts.Token)) > 0)
            {
                bytes.Write(buffer, 0, n);
            }
        }
        catch (IOException)
        {
            // A close without close_notify still ends what the server sent.
        }

        var all = bytes.ToArray();
        var frames = new List<H2Frame>();
        for (int at = 0; at + 9 <= all.Length;)
        {
            int length = (all[at] << 16) | (all[at + 1] << 8) | all[at + 2];
            all.Length.Should().BeGreaterThanOrEqualTo(at + 9 + length, "only whole HTTP/2 frames arrive");
            frames.Add(new H2Frame(length, all[at + 3], all[at + 4], (int)(BinaryPrimitives.ReadUInt32BigEndian(all.AsSpan(at + 5)) & 0x7FFFFFFF), all.AsSpan(at + 9, length).ToArray()));
            at += 9 + length;
        }

        return frames;
    }
}

/// <summary>Configuration errors and defaults of listener protocols (no transport involved).</summary>
public class ListenerProtocolsOptionsTests
{
    [Fact]
    public async Task An_http2_listener_without_UseHttp2_fails_at_start_with_a_clear_message()
    {
        await using var server = new HyperionServer(new HyperionOptions { Port = 0 }.Listen(IPAddress.Loopback, 0, HttpProtocols.Http2));
        var failed = await server.Invoking(s => s.StartAsync()).Should().ThrowAsync<InvalidOperationException>();
        failed.Which.Message.Should().Contain("UseHttp2").And.Contain("Http2");
    }

    [Fact]
    public async Task An_explicit_server_wide_http1_and_http2_without_UseHttp2_fails_at_start()
    {
        await using var server = new HyperionServer(new HyperionOptions { Port = 0, Protocols = HttpProtocols.Http1AndHttp2 });
        await server.Invoking(s => s.StartAsync()).Should().ThrowAsync<InvalidOperationException>().WithMessage("*UseHttp2*");
    }

    [Fact]
    public async Task The_default_without_UseHttp2_is_http11_alone()
    {
        await using var ts = await TestServer.StartAsync(s => s.Handle("GET", "/", env => RackResponse.Text(200, env.Protocol)));
        ts.Server.Options.Protocols.Should().Be(HttpProtocols.Http1AndHttp2);
        using var c = await RawConnection.ConnectAsync(ts.Port);
        await c.SendAsync(H2RawClient.Preface);
        (await c.ReadResponseAsync()).Status.Should().Be(505, "with HTTP/2 off the preface is an HTTP/1.1 request for version 2.0");
    }

    [Fact]
    public async Task An_http1_only_listener_starts_and_serves_without_UseHttp2()
    {
        await using var ts = await TestServer.StartAsync(s => s.Handle("GET", "/", env => RackResponse.Text(200, env.Protocol)), o => o.Listen(IPAddress.Loopback, 0, HttpProtocols.Http1));
        using var c = await RawConnection.ConnectAsync(ts.Port);
        await c.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        (await c.ReadResponseAsync()).BodyText.Should().Be("HTTP/1.1");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void Protocols_outside_the_enum_are_refused(int value)
    {
        var options = new HyperionOptions();
        options.Invoking(o => o.Protocols = (HttpProtocols)value).Should().Throw<ArgumentOutOfRangeException>();
        options.Invoking(o => o.Listen(IPAddress.Loopback, 0, (HttpProtocols)value)).Should().Throw<ArgumentOutOfRangeException>();
        options.Endpoints.Should().BeEmpty();
    }
}

public sealed class ListenerProtocolsTestsOnSockets : ListenerProtocolsTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class ListenerProtocolsTestsOnIoUring : ListenerProtocolsTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class ListenerProtocolsTestsOnEpoll : ListenerProtocolsTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
