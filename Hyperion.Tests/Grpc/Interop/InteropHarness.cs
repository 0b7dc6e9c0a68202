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
    private readonly GrpcWireRecorder? _wire;

    private InteropHarness(TestServer server, GrpcChannel channel, GrpcWireRecorder? wire, FakeTimeProvider? clock, ServerCallObserver observer)
    {
        Observer = observer;
        Server = server;
        Channel = channel;
        _wire = wire;
        Clock = clock;
        Client = new TestService.TestServiceClient(channel);
    }

    public TestServer Server { get; }

    public GrpcChannel Channel { get; }

    /// <summary>The response framing, when the harness was started with <c>recordWire</c>.</summary>
    public GrpcWireRecorder Wire => _wire ?? throw new InvalidOperationException("Start the harness with recordWire: true to see the response framing.");

    public TestService.TestServiceClient Client { get; }

    /// <summary>What the server's handlers saw (an interceptor on the service).</summary>
    public ServerCallObserver Observer { get; }

    /// <summary>The server's clock when the harness was started with a fake one.</summary>
    public FakeTimeProvider? Clock { get; }

    /// <summary>
    /// Starts the server through <paramref name="start"/> (a <see cref="TransportTests"/> start, so the transport is the
    /// suite's) with HTTP/2 alone on the port, TLS when <paramref name="tls"/>, the server's clock fake when asked, and
    /// the client's responses through a <see cref="GrpcWireRecorder"/> when asked (only then: the cases that cancel see
    /// Grpc.Net.Client's own response content, as users do).
    /// </summary>
    public static async Task<InteropHarness> StartAsync(
        Func<Action<HyperionServer>, Action<HyperionOptions>?, Task<TestServer>> start,
        bool tls,
        bool fakeClock = false,
        bool recordWire = false)
    {
        var clock = fakeClock ? new FakeTimeProvider(DateTimeOffset.UtcNow) : null;
        var observer = new ServerCallObserver();
        var server = await start(
            s =>
            {
                s.UseHttp2();
                s.AddGrpcService(new InteropTestService(context => context.WasLastRequestMessageCompressed(), clock), o => o.Interceptors.Add(observer));
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

        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = TestCertificate.Validate },
        };
        var wire = recordWire ? new GrpcWireRecorder(handler) : null;
        var channel = GrpcChannel.ForAddress(server.BaseAddress, new GrpcChannelOptions
        {
            HttpHandler = (HttpMessageHandler?)wire ?? handler,
            // The large cases send and receive messages of a few hundred KiB, under the 4 MiB defaults.
            MaxReceiveMessageSize = 4 * 1024 * 1024,
        });
        return new InteropHarness(server, channel, wire, clock, observer);
    }

    /// <summary>
    /// Completes one call on the channel, so the client's SETTINGS ACK is ahead of any later call's HEADERS: a test that
    /// moves the server's fake clock must not fire the server's SETTINGS ACK timeout (RFC 9113 §6.5.3, on the same clock)
    /// while the real-time handshake is still in flight.
    /// </summary>
    public async Task SettleConnectionAsync() => await Client.EmptyCallAsync(new Empty());

    /// <summary>The full name of a TestService method as the server sees it (<c>/grpc.testing.TestService/Name</c>).</summary>
    public static string Method(string name) => "/grpc.testing.TestService/" + name;

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await Server.DisposeAsync();
    }
}
