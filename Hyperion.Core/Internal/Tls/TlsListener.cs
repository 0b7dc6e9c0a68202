using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Hyperion.Internal.Tls;

/// <summary>
/// The TLS settings of one listener: its certificate (with the chain sent to clients) and the
/// protocol versions and ALPN names it offers. Immutable, shared by every connection of the listener.
/// </summary>
internal sealed class TlsListener
{
    // RFC 7301: the server picks from the client's list; offering only the listener's protocols (h2 only when
    // HTTP/2 is enabled) keeps clients from negotiating a protocol nobody here speaks on this port.
    private static readonly List<SslApplicationProtocol> Http11Only = [SslApplicationProtocol.Http11];
    private static readonly List<SslApplicationProtocol> Http2Only = [SslApplicationProtocol.Http2];
    private static readonly List<SslApplicationProtocol> Http2AndHttp11 = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11];

    public TlsListener(X509Certificate2 certificate, X509Certificate2Collection? chain)
    {
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException("The TLS certificate has no private key.", nameof(certificate));
        }

        Certificate = certificate;

        // Built once per listener, offline: the chain is resolved here instead of on every handshake.
        CertificateContext = SslStreamCertificateContext.Create(certificate, chain, offline: true);
    }

    public X509Certificate2 Certificate { get; }

    public SslStreamCertificateContext CertificateContext { get; }

    /// <summary>
    /// TLS 1.2 and 1.3 only; renegotiation off (client-initiated renegotiation is a CPU-exhaustion vector). A client
    /// certificate is asked for in the handshake itself when <paramref name="options"/> say so (mutual TLS).
    /// </summary>
    public SslServerAuthenticationOptions CreateOptions(HttpProtocols protocols, HyperionOptions options)
    {
        var ssl = CreateOptions(protocols);
        if (options.ClientCertificateMode != ClientCertificateMode.NoCertificate)
        {
            var mode = options.ClientCertificateMode;
            var validate = options.ClientCertificateValidation;
            ssl.ClientCertificateRequired = true;
            ssl.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
            {
                if (certificate is null)
                {
                    return mode == ClientCertificateMode.AllowCertificate;
                }

                return validate is null
                    ? errors == SslPolicyErrors.None
                    : validate(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()), chain, errors);
            };
        }

        return ssl;
    }

    private SslServerAuthenticationOptions CreateOptions(HttpProtocols protocols) => new()
    {
        ServerCertificateContext = CertificateContext,
        ApplicationProtocols = protocols switch
        {
            HttpProtocols.Http2 => Http2Only,
            HttpProtocols.Http1AndHttp2 => Http2AndHttp11,
            _ => Http11Only,
        },
        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        ClientCertificateRequired = false,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        AllowRenegotiation = false,
    };

    /// <summary>
    /// Loads a certificate and its key from PEM files. Extra certificates in the certificate file
    /// (a "fullchain" file) are sent to clients as the chain.
    /// </summary>
    public static TlsListener FromPemFiles(string certificatePemPath, string keyPemPath)
    {
        ArgumentNullException.ThrowIfNull(certificatePemPath);
        ArgumentNullException.ThrowIfNull(keyPemPath);
        using var pem = X509Certificate2.CreateFromPemFile(certificatePemPath, keyPemPath);

        // A PEM key is ephemeral; a PKCS#12 round trip gives a key every platform's TLS stack accepts.
        var certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), password: null);
        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(certificatePemPath);
        var chain = new X509Certificate2Collection();
        foreach (var c in all)
        {
            if (c.Thumbprint != certificate.Thumbprint)
            {
                chain.Add(c);
            }
        }

        return new TlsListener(certificate, chain.Count > 0 ? chain : null);
    }
}
