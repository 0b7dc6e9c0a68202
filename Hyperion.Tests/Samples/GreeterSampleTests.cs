using System.Net.Security;
using Grpc.Core;
using Grpc.Net.Client;
using Hyperion.Samples.Greet;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Tls;

namespace Hyperion.Tests.Samples;

/// <summary>
/// samples/Grpc, started as its own process as the README runs it, serves the Greeter's four call shapes to
/// Grpc.Net.Client over h2c and over TLS, and stops on SIGTERM.
/// </summary>
public class GreeterSampleTests
{
    [Fact]
    public async Task Greeter_sample_serves_every_call_shape_over_h2c()
    {
        await using var sample = await SampleProcess.StartAsync("Grpc");
        sample.BaseAddress.Scheme.Should().Be("http");
        using var channel = GrpcChannel.ForAddress(sample.BaseAddress);

        await CallEveryShapeAsync(new Greeter.GreeterClient(channel));

        (await sample.StopAsync()).Should().Be(0, "SIGTERM is a graceful stop");
    }

    [Fact]
    public async Task Greeter_sample_serves_every_call_shape_over_tls()
    {
        await using var sample = await SampleProcess.StartAsync("Grpc", "--tls-cert", TestCertificate.CertificatePemPath, "--tls-key", TestCertificate.KeyPemPath);
        sample.BaseAddress.Scheme.Should().Be("https");
        var handler = new SocketsHttpHandler { SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = TestCertificate.Validate } };
        using var channel = GrpcChannel.ForAddress(sample.BaseAddress, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });

        await CallEveryShapeAsync(new Greeter.GreeterClient(channel));

        (await sample.StopAsync()).Should().Be(0);
    }

    private static async Task CallEveryShapeAsync(Greeter.GreeterClient client)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);

        // Unary.
        (await client.SayHelloAsync(new HelloRequest { Name = "Ada" }, deadline: deadline)).Message.Should().Be("Hello, Ada");

        // Server streaming: exactly `count` replies, then grpc-status OK.
        using (var call = client.SayHellos(new HelloRequest { Name = "Ada", Count = 3 }, deadline: deadline))
        {
            var replies = new List<string>();
            await foreach (var reply in call.ResponseStream.ReadAllAsync())
            {
                replies.Add(reply.Message);
            }

            replies.Should().Equal("Hello, Ada", "Hello, Ada", "Hello, Ada");
            call.GetStatus().StatusCode.Should().Be(StatusCode.OK);
        }

        // Client streaming: every name sent reaches the one reply, in order.
        using (var call = client.GreetAll(deadline: deadline))
        {
            await call.RequestStream.WriteAsync(new HelloRequest { Name = "Ada" });
            await call.RequestStream.WriteAsync(new HelloRequest { Name = "Grace" });
            await call.RequestStream.CompleteAsync();
            (await call.ResponseAsync).Message.Should().Be("Hello, Ada, Grace");
        }

        // Bidirectional: each reply arrives before the next request is sent (ping-pong), and the call ends when the
        // client completes its side.
        using (var call = client.Chat(deadline: deadline))
        {
            foreach (var name in new[] { "Ada", "Grace", "Barbara" })
            {
                await call.RequestStream.WriteAsync(new HelloRequest { Name = name });
                (await call.ResponseStream.MoveNext(CancellationToken.None)).Should().BeTrue(name);
                call.ResponseStream.Current.Message.Should().Be("Hello, " + name);
            }

            await call.RequestStream.CompleteAsync();
            (await call.ResponseStream.MoveNext(CancellationToken.None)).Should().BeFalse();
            call.GetStatus().StatusCode.Should().Be(StatusCode.OK);
        }

        // The service's own error reaches the client as its status and message.
        var refused = async () =>
        {
            using var call = client.SayHellos(new HelloRequest { Name = "Ada", Count = -1 }, deadline: deadline);
            await call.ResponseStream.MoveNext(CancellationToken.None);
        };
        var error = (await refused.Should().ThrowAsync<RpcException>()).Which;
        error.StatusCode.Should().Be(StatusCode.InvalidArgument);
        error.Status.Detail.Should().Be("count must be 0..10000");
    }
}
