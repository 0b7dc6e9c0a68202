using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Tls;

/// <summary>The handshake: versions, ALPN, its timeout, and clients that never complete one.</summary>
public abstract class TlsHandshakeTests : TransportTests
{
    private Task<TestServer> StartHttpsAsync(Action<HyperionOptions>? options = null) => StartAsync(
        s => s.HandleStatic("GET", "/", "ok"),
        o =>
        {
            o.UseTls(TestCertificate.Certificate);
            options?.Invoke(o);
        });

    private static async Task<string> GetOverAsync(SslStream ssl)
    {
        await ssl.WriteAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray());
        return await HttpsTests.ReadUntilAsync(ssl, "\r\n\r\nok");
    }

    [Fact]
    public async Task Alpn_picks_http11_when_the_client_offers_h2_first_and_http2_is_not_enabled()
    {
        await using var ts = await StartHttpsAsync();
        await using var ssl = await TestCertificate.ConnectAsync(ts.Port, new SslClientAuthenticationOptions
        {
            ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
        });

        ssl.NegotiatedApplicationProtocol.Should().Be(SslApplicationProtocol.Http11);
        (await GetOverAsync(ssl)).Should().StartWith("HTTP/1.1 200 OK");
    }

    [Fact]
    public async Task A_client_offering_no_alpn_gets_http11()
    {
        await using var ts = await StartHttpsAsync();
        await using var ssl = await TestCertificate.ConnectAsync(ts.Port);

        ssl.NegotiatedApplicationProtocol.Should().Be(default(SslApplicationProtocol));
        (await GetOverAsync(ssl)).Should().StartWith("HTTP/1.1 200 OK");
    }

    [Theory]
    [InlineData(SslProtocols.Tls12)]
    [InlineData(SslProtocols.Tls13)]
    public async Task Tls12_and_tls13_clients_are_served(SslProtocols version)
    {
        await using var ts = await StartHttpsAsync();
        await using var ssl = await TestCertificate.ConnectAsync(ts.Port, new SslClientAuthenticationOptions { EnabledSslProtocols = version });

        ssl.SslProtocol.Should().Be(version);
        (await GetOverAsync(ssl)).Should().StartWith("HTTP/1.1 200 OK");
    }

    /// <summary>
    /// A hand-built ClientHello offering only an old version, so the test does not depend on whether this
    /// OS's TLS library would still send one: the server must answer with an alert or close, never a ServerHello.
    /// </summary>
    [Theory]
    [InlineData(0x0301, "TLS 1.0")]
    [InlineData(0x0302, "TLS 1.1")]
    public async Task Old_protocol_versions_are_refused(int version, string name)
    {
        await using var ts = await StartHttpsAsync();
        using var c = await ts.ConnectAsync();
        await c.SendAsync(ClientHello((ushort)version));

        (await c.IsClosedByServerAsync(TimeSpan.FromSeconds(10))).Should().BeTrue($"{name} must not be negotiated");
        var reply = c.Leftover;
        if (reply.Length > 0)
        {
            reply[0].Should().Be(0x15, $"the only acceptable answer to a {name} hello is an alert record");
        }

        ts.Logs.Lines.Should().ContainSingle(l => l.EventId.Name == "TlsHandshakeFailed");
        c.Dispose();
        await WaitForAsync(() => ts.Server.ConnectionCount == 0);
    }

    [Fact]
    public async Task TlsHandshakeTimeout_closes_a_client_that_connects_and_sends_nothing()
    {
        var clock = new TestClock();
        await using var ts = await StartHttpsAsync(o =>
        {
            o.TimeProvider = clock.Time;
            o.TlsHandshakeTimeout = TimeSpan.FromSeconds(5);
        });
        using var silent = await ts.ConnectAsync();

        var took = await clock.AdvanceUntilAsync(() => ts.Logged("TlsHandshakeFailed"), what: "the handshake timeout");
        took.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(5));
        (await silent.IsClosedByServerAsync(TimeSpan.FromSeconds(8))).Should().BeTrue();
        silent.Leftover.Should().BeEmpty();
        ts.Logs.Lines.Should().ContainSingle(l => l.EventId.Name == "TlsHandshakeFailed" && l.Message.Contains("TlsHandshakeTimeout", StringComparison.Ordinal));
        silent.Dispose();
        await WaitForAsync(() => ts.Server.ConnectionCount == 0);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("\u0016\u0003\u0001\u0000\u0005hello")]
    [InlineData("\u0016\u0003\u0003\u0000\u0004\u0001\u0000\u0000\u0000")]
    public async Task Garbage_instead_of_a_client_hello_closes_that_connection_and_harms_no_other(string garbage)
    {
        // A prefix that could still become a valid record is closed by the handshake timeout at the latest.
        await using var ts = await StartHttpsAsync(o => o.TlsHandshakeTimeout = TimeSpan.FromSeconds(3));
        using var client = TestCertificate.CreateHttpClient(ts.BaseAddress);
        (await client.GetStringAsync("/")).Should().Be("ok");

        using var bad = await ts.ConnectAsync();
        await bad.SendAsync(Encoding.Latin1.GetBytes(garbage));

        (await bad.IsClosedByServerAsync(TimeSpan.FromSeconds(10))).Should().BeTrue();
        (await client.GetStringAsync("/")).Should().Be("ok");
        // Plain HTTP is told apart from a broken handshake (and answered 400: StderrLoggingTests).
        string expected = garbage.StartsWith("GET", StringComparison.Ordinal) ? "PlainHttpOnTls" : "TlsHandshakeFailed";
        ts.Logs.Lines.Should().ContainSingle(l => l.EventId.Name == expected);
        ts.Logs.Lines.Should().NotContain(l => l.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
        bad.Dispose();
        await WaitForAsync(() => ts.Server.ConnectionCount == 1);
    }

    [Fact]
    public async Task Stop_closes_a_connection_still_in_its_handshake()
    {
        var ts = await StartHttpsAsync();
        using var silent = await ts.ConnectAsync();
        await WaitForAsync(() => ts.Server.ConnectionCount == 1);

        var stop = ts.Server.StopAsync(TimeSpan.FromSeconds(30));

        (await silent.IsClosedByServerAsync(TimeSpan.FromSeconds(5))).Should().BeTrue();
        silent.Dispose();
        await stop.WaitAsync(TimeSpan.FromSeconds(20));
        ts.Server.ConnectionCount.Should().Be(0);
        ts.Logs.Lines.Should().NotContain(l => l.EventId.Name == "StopForced");
        await ts.DisposeAsync();
    }

    [Fact]
    public async Task Over_the_connection_limit_a_tls_client_is_closed_without_a_cleartext_503()
    {
        await using var ts = await StartHttpsAsync(o => o.MaxConcurrentConnections = 1);
        await using var first = await TestCertificate.ConnectAsync(ts.Port);
        (await GetOverAsync(first)).Should().StartWith("HTTP/1.1 200 OK");

        using var second = await ts.ConnectAsync();
        await second.SendAsync(ClientHello(0x0303));

        (await second.IsClosedByServerAsync(TimeSpan.FromSeconds(10))).Should().BeTrue();
        second.Leftover.Should().BeEmpty("nothing but TLS records may be sent on a TLS listener");
        ts.Logs.Lines.Should().Contain(l => l.EventId.Name == "ConnectionLimit");
        (await GetOverAsync(first)).Should().StartWith("HTTP/1.1 200 OK");
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        condition().Should().BeTrue();
    }

    /// <summary>RFC 5246 §7.4.1.2 ClientHello with <paramref name="version"/> and no supported_versions extension.</summary>
    private static byte[] ClientHello(ushort version)
    {
        var body = new List<byte> { (byte)(version >> 8), (byte)version };
        body.AddRange(RandomNumberGenerator.GetBytes(32));
        body.Add(0); // session id
        ushort[] suites = [0xC013, 0xC014, 0xC009, 0xC00A, 0x002F, 0x0035];
        body.AddRange([0, (byte)(suites.Length * 2)]);
        foreach (var s in suites)
        {
            body.AddRange([(byte)(s >> 8), (byte)s]);
        }

        body.AddRange([1, 0]); // compression: null
        var handshake = new List<byte> { 1, 0, (byte)(body.Count >> 8), (byte)body.Count };
        handshake.AddRange(body);
        var record = new List<byte> { 0x16, 0x03, 0x01, (byte)(handshake.Count >> 8), (byte)handshake.Count };
        record.AddRange(handshake);
        return record.ToArray();
    }
}

public sealed class TlsHandshakeTestsOnSockets : TlsHandshakeTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class TlsHandshakeTestsOnIoUring : TlsHandshakeTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class TlsHandshakeTestsOnEpoll : TlsHandshakeTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
