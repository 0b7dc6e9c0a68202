using System.Net.Security;
using Grpc.Net.Client;
using Grpc.Testing;
using GrpcInterop;
using Hyperion.Grpc;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Tls;
using Microsoft.Extensions.Time.Testing;

namespace Hyperion.Tests.Grpc.Interop;

/// <summary>
/// samples/GrpcInterop's TestService on a Hyperion server on 127.0.0.1 (h2c or TLS, on the given transport), with a
/// Grpc.Net.Client channel to it whose responses pass a <see cref="GrpcWireRecorder"/>.
/// </summary>
public sealed class InteropHarness : IAsyncDisposable
{
    private InteropHarness(TestServer server, GrpcChannel channel, GrpcWireRecorder wire, FakeTimeProvider? clock)
    {
        Server = server;
        Channel = channel;
        Wire = wire;
        Clock = clock;
        Client = new TestService.TestServiceClient(channel);
    }

    public TestServer Server { get; }

    public GrpcChannel Channel { get; }

    public GrpcWireRecorder Wire { get; }

    public TestService.TestServiceClient Client { get; }

    /// <summary>The server's clock when the harness was started with a fake one.</summary>
    public FakeTimeProvider? Clock { get; }

    /// <summary>
    /// Starts the server through <paramref name="start"/> (a <see cref="TransportTests"/> start, so the transport is the
    /// suite's) with HTTP/2 alone on the port, TLS when <paramref name="tls"/>, and the server's clock fake when asked.
    /// </summary>
    public static async Task<InteropHarness> StartAsync(
        Func<Action<HyperionServer>, Action<HyperionOptions>?, Task<TestServer>> start,
        bool tls,
        bool fakeClock = false)
    {
        var clock = fakeClock ? new FakeTimeProvider(DateTimeOffset.UtcNow) : null;
        var server = await start(
            s =>
            {
                s.UseHttp2();
                s.AddGrpcService(new InteropTestService(GrpcCallContext.LastRequestWasCompressed, clock));
            },
            o =>
            {
                o.Protocols = HttpProtocols.Http2;
                if (tls)
                {
                    o.UseTls(TestCertificate.Certificate);
                }

                if (clock is not null)
                {
                    o.TimeProvider = clock;
                }
            });

        var wire = new GrpcWireRecorder(new SocketsHttpHandler
        {
            UseProxy = false,
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = TestCertificate.Validate },
        });
        var channel = GrpcChannel.ForAddress(server.BaseAddress, new GrpcChannelOptions
        {
            HttpHandler = wire,
            // The large cases send and receive messages of a few hundred KiB, under the 4 MiB defaults.
            MaxReceiveMessageSize = 4 * 1024 * 1024,
        });
        return new InteropHarness(server, channel, wire, clock);
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await Server.DisposeAsync();
    }
}
