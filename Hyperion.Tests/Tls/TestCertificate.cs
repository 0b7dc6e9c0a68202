using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Hyperion.Tests.Tls;

/// <summary>
/// A self-signed ECDSA P-256 certificate for localhost and 127.0.0.1, made once per test run, also written to
/// temporary PEM files, plus clients that trust exactly this certificate.
/// </summary>
public static class TestCertificate
{
    private static readonly Lazy<(X509Certificate2 Certificate, string CertPath, string KeyPath)> Created = new(Create);

    public static X509Certificate2 Certificate => Created.Value.Certificate;

    public static string CertificatePemPath => Created.Value.CertPath;

    public static string KeyPemPath => Created.Value.KeyPath;

    private static (X509Certificate2, string, string) Create()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));

        var dir = Path.Combine(Path.GetTempPath(), "hyperion-tls-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        var certPath = Path.Combine(dir, "cert.pem");
        var keyPath = Path.Combine(dir, "key.pem");
        File.WriteAllText(certPath, created.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        var certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), password: null);
        return (certificate, certPath, keyPath);
    }

    /// <summary>Accepts the test certificate and nothing else.</summary>
    public static bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
        => certificate is not null && certificate.GetCertHashString() == Certificate.Thumbprint;

    public static HttpClient CreateHttpClient(Uri baseAddress, Action? onConnect = null)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = Validate },
        };
        if (onConnect is not null)
        {
            handler.ConnectCallback = async (context, ct) =>
            {
                onConnect();
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new NetworkStream(socket, ownsSocket: true);
            };
        }

        return new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(15) };
    }

    /// <summary>A TLS client connection to 127.0.0.1:<paramref name="port"/>, handshake done.</summary>
    public static async Task<SslStream> ConnectAsync(int port, SslClientAuthenticationOptions? options = null)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        options ??= new SslClientAuthenticationOptions();
        options.TargetHost ??= "localhost";
        options.RemoteCertificateValidationCallback ??= Validate;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await ssl.AuthenticateAsClientAsync(options, timeout.Token);
        return ssl;
    }
}
