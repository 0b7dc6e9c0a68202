using System.Net;
using Grpc.Net.Client;
using Hyperion;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Tls;

namespace Hyperion.Tests.Grpc;

/// <summary>Channels of the real Grpc.Net.Client to a test server, over h2c or TLS (ALPN h2).</summary>
public static class GrpcTestServer
{
    public static GrpcChannel CreateChannel(TestServer server, bool tls, GrpcChannelOptions? options = null, System.Security.Cryptography.X509Certificates.X509Certificate2? clientCertificate = null)
    {
        options ??= new GrpcChannelOptions();
        var handler = new SocketsHttpHandler { UseProxy = false, UseCookies = false, AllowAutoRedirect = false };
        if (tls)
        {
            handler.SslOptions = new System.Net.Security.SslClientAuthenticationOptions { RemoteCertificateValidationCallback = TestCertificate.Validate };
            if (clientCertificate is not null)
            {
                handler.SslOptions.ClientCertificates = [clientCertificate];
            }
        }

        options.HttpHandler = handler;
        options.DisposeHttpClient = true;
        var address = new Uri($"{(tls ? "https" : "http")}://127.0.0.1:{server.Port}");
        return GrpcChannel.ForAddress(address, options);
    }

    /// <summary>Server options for a TLS listener on a free port (h2 by ALPN), or the default cleartext one (h2c).</summary>
    public static void Configure(HyperionOptions options, bool tls)
    {
        if (tls)
        {
            options.UseTls(TestCertificate.Certificate);
        }
    }
}
