using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Tls;

/// <summary>The public TLS settings: PEM files, per-listener TLS next to cleartext, validation.</summary>
public class TlsOptionsTests
{
    [Fact]
    public async Task UseTls_with_pem_files_serves_https_on_the_default_listener()
    {
        await using var ts = await TestServer.StartAsync(
            s => s.Handle("GET", "/", env => RackResponse.Text(200, env.Scheme)),
            o => o.UseTls(TestCertificate.CertificatePemPath, TestCertificate.KeyPemPath));
        using var client = TestCertificate.CreateHttpClient(ts.BaseAddress);

        ts.BaseAddress.Should().Be(new Uri($"https://127.0.0.1:{ts.Port}/"));
        (await client.GetStringAsync("/")).Should().Be("https");
    }

    [Fact]
    public async Task Cleartext_and_tls_listeners_side_by_side_each_keep_their_scheme()
    {
        await using var ts = await TestServer.StartAsync(
            s => s.Handle("GET", "/", env => RackResponse.Text(200, $"{env.Scheme} {env.ContainsKey("HTTPS")}")),
            o => o.Listen(IPAddress.Loopback, 0).ListenTls(IPAddress.Loopback, 0, TestCertificate.CertificatePemPath, TestCertificate.KeyPemPath));
        var clear = ts.Server.Endpoints[0];
        var tls = ts.Server.Endpoints[1];

        ts.BaseAddress.Scheme.Should().Be("http");
        using var plain = new HttpClient();
        (await plain.GetStringAsync($"http://127.0.0.1:{clear.Port}/")).Should().Be("http False");
        using var secure = TestCertificate.CreateHttpClient(new Uri($"https://127.0.0.1:{tls.Port}/"));
        (await secure.GetStringAsync("/")).Should().Be("https True");

        var listening = ts.Logs.Lines.Where(l => l.EventId.Name == "Listening").Select(l => l.Message).ToList();
        listening.Should().Equal($"Listening on http://{clear}", $"Listening on https://{tls}");
    }

    [Fact]
    public async Task UseTls_covers_listen_endpoints_and_listen_tls_keeps_its_own_certificate()
    {
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var otherRaw = new CertificateRequest("CN=other", otherKey, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        using var other = X509CertificateLoader.LoadPkcs12(otherRaw.Export(X509ContentType.Pkcs12), null);
        await using var ts = await TestServer.StartAsync(
            s => s.HandleStatic("GET", "/", "ok"),
            o => o.Listen(IPAddress.Loopback, 0).ListenTls(IPAddress.Loopback, 0, other).UseTls(TestCertificate.Certificate));

        await using (var first = await TestCertificate.ConnectAsync(ts.Server.Endpoints[0].Port))
        {
            first.RemoteCertificate!.GetCertHashString().Should().Be(TestCertificate.Certificate.Thumbprint);
        }

        await using var second = await TestCertificate.ConnectAsync(ts.Server.Endpoints[1].Port, new System.Net.Security.SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        second.RemoteCertificate!.GetCertHashString().Should().Be(other.Thumbprint);
    }

    [Fact]
    public void A_certificate_without_its_private_key_is_refused_when_configured()
    {
        using var publicOnly = X509CertificateLoader.LoadCertificate(TestCertificate.Certificate.RawData);
        var options = new HyperionOptions();

        options.Invoking(o => o.UseTls(publicOnly)).Should().Throw<ArgumentException>().WithMessage("*private key*");
        options.Invoking(o => o.ListenTls(IPAddress.Loopback, 0, publicOnly)).Should().Throw<ArgumentException>();
        options.Endpoints.Should().BeEmpty();
    }

    [Fact]
    public void Missing_pem_files_fail_at_configuration_not_at_the_first_connection()
    {
        var options = new HyperionOptions();
        options.Invoking(o => o.UseTls("/nonexistent/cert.pem", "/nonexistent/key.pem")).Should().Throw<Exception>();
    }

    [Fact]
    public void A_non_positive_handshake_timeout_is_rejected()
    {
        var act = () => new HyperionServer(new HyperionOptions { TlsHandshakeTimeout = TimeSpan.Zero });
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*TlsHandshakeTimeout*");
    }
}
