using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Hyperion;
using Hyperion.Tests.Grpc.Protos;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Grpc;

/// <summary>Mutual TLS: the client's certificate as the call's AuthContext (grpc doc/server_side_auth.md names).</summary>
public abstract class GrpcClientCertificateTests : GrpcTests
{
    private static readonly Lazy<X509Certificate2> ClientCertificate = new(() =>
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=grpc-test-client", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("client.hyperion.test");
        san.AddDnsName("other.hyperion.test");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));

        // An ephemeral key does not reach OpenSSL as a client credential; a PKCS#12 round trip gives a usable one.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    });

    private static ScriptedGreeter Reporting(TaskCompletionSource<AuthContext> seen) => new()
    {
        Unary = (r, c) =>
        {
            seen.TrySetResult(c.AuthContext);
            return Task.FromResult(new HelloReply { Message = "ok" });
        },
    };

    [Fact]
    public async Task A_client_certificate_becomes_the_calls_peer_identity()
    {
        var seen = new TaskCompletionSource<AuthContext>(TaskCreationOptions.RunContinuationsAsynchronously);
        var expected = ClientCertificate.Value;
        await using var ts = await StartGreeterAsync(Reporting(seen), tls: true, options: o =>
        {
            o.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
            o.ClientCertificateValidation = (certificate, chain, errors) => certificate.Thumbprint == expected.Thumbprint;
        });
        using var channel = GrpcTestServer.CreateChannel(ts, tls: true, clientCertificate: expected);
        var client = new Greeter.GreeterClient(channel);

        (await client.SayHelloAsync(new HelloRequest())).Message.Should().Be("ok");
        var auth = await seen.Task;

        auth.IsPeerAuthenticated.Should().BeTrue();
        auth.PeerIdentityPropertyName.Should().Be("x509_subject_alternative_name");
        auth.PeerIdentity.Select(p => p.Value).Should().Equal("client.hyperion.test", "other.hyperion.test");
        auth.FindPropertiesByName("x509_common_name").Select(p => p.Value).Should().Equal("grpc-test-client");
        auth.FindPropertiesByName("transport_security_type").Select(p => p.Value).Should().Equal("ssl");
    }

    [Fact]
    public async Task Without_a_client_certificate_the_peer_is_not_authenticated()
    {
        var seen = new TaskCompletionSource<AuthContext>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartGreeterAsync(Reporting(seen), tls: true, options: o => o.ClientCertificateMode = ClientCertificateMode.AllowCertificate);
        using var channel = GrpcTestServer.CreateChannel(ts, tls: true);
        var client = new Greeter.GreeterClient(channel);

        (await client.SayHelloAsync(new HelloRequest())).Message.Should().Be("ok");

        (await seen.Task).IsPeerAuthenticated.Should().BeFalse();
    }

    [Fact]
    public async Task A_required_certificate_that_validation_refuses_fails_the_handshake()
    {
        var seen = new TaskCompletionSource<AuthContext>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartGreeterAsync(Reporting(seen), tls: true, options: o =>
        {
            o.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
            o.ClientCertificateValidation = (certificate, chain, errors) => false;
        });
        using var channel = GrpcTestServer.CreateChannel(ts, tls: true, clientCertificate: ClientCertificate.Value);
        var client = new Greeter.GreeterClient(channel);

        var ex = await FluentActions.Awaiting(async () => await client.SayHelloAsync(new HelloRequest())).Should().ThrowAsync<RpcException>();

        ex.Which.StatusCode.Should().Be(StatusCode.Unavailable);
        seen.Task.IsCompleted.Should().BeFalse();
        (await TestClock.SettlesAsync(() => ts.Logged("TlsHandshakeFailed"))).Should().BeTrue();
    }
}

public sealed class GrpcClientCertificateTestsOnSockets : GrpcClientCertificateTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class GrpcClientCertificateTestsOnIoUring : GrpcClientCertificateTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class GrpcClientCertificateTestsOnEpoll : GrpcClientCertificateTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
