using System.Net.Security;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Testing;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Tls;

namespace Hyperion.Tests.Grpc.Interop;

/// <summary>samples/GrpcInterop started as its own process, with grpc's interop server flags, answers as the interop server.</summary>
public class GrpcInteropSampleTests
{
    [Fact]
    public async Task The_sample_serves_the_TestService_over_h2c_and_stops_on_SIGTERM()
    {
        await using var sample = await SampleProcess.StartAsync("GrpcInterop");
        sample.BaseAddress.Scheme.Should().Be("http");

        await AssertServesAsync(sample.BaseAddress);

        (await sample.StopAsync()).Should().Be(0, "SIGTERM is a graceful stop");
    }

    [Fact]
    public async Task The_sample_with_use_tls_serves_h2_over_tls_from_pem_files()
    {
        await using var sample = await SampleProcess.StartAsync(
            "GrpcInterop", "--use_tls=true", "--tls-cert", TestCertificate.CertificatePemPath, "--tls-key", TestCertificate.KeyPemPath);
        sample.BaseAddress.Scheme.Should().Be("https");

        await AssertServesAsync(sample.BaseAddress);
    }

    private static async Task AssertServesAsync(Uri address)
    {
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                UseProxy = false,
                SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = TestCertificate.Validate },
            },
        });
        var client = new TestService.TestServiceClient(channel);

        var response = await client.UnaryCallAsync(new SimpleRequest { ResponseSize = 314159, Payload = new Payload { Body = ByteString.CopyFrom(new byte[271828]) } });
        response.Payload.Body.Length.Should().Be(314159);

        var request = new StreamingOutputCallRequest();
        request.ResponseParameters.Add(new ResponseParameters { Size = 9 });
        request.ResponseParameters.Add(new ResponseParameters { Size = 2653 });
        using var stream = client.StreamingOutputCall(request);
        var sizes = new List<int>();
        while (await stream.ResponseStream.MoveNext())
        {
            sizes.Add(stream.ResponseStream.Current.Payload.Body.Length);
        }

        sizes.Should().Equal(9, 2653);

        var missing = await FluentActions.Awaiting(async () => await new UnimplementedService.UnimplementedServiceClient(channel).UnimplementedCallAsync(new Empty()))
            .Should().ThrowAsync<RpcException>();
        missing.Which.StatusCode.Should().Be(StatusCode.Unimplemented, "the sample does not register UnimplementedService");
    }
}
