using Grpc.Core;
using Grpc.Net.Client;
using Hyperion;
using Hyperion.Grpc;
using Hyperion.Tests.Grpc.Protos;
using Hyperion.Tests.Http2;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Grpc;

/// <summary>
/// Grpc.Net.Client against the HTTP/2 ping policy (<see cref="Http2Options.MinPingIntervalWithoutData"/>,
/// <see cref="Http2Options.MaxPingStrikes"/>): the RTT PINGs SocketsHttpHandler sends while messages arrive never strike.
/// </summary>
public abstract class GrpcKeepAliveTests : TransportTests
{
    [Fact]
    public async Task Streams_and_many_unary_calls_never_strike_even_under_the_strictest_policy()
    {
        await using var ts = await StartAsync(s =>
        {
            // Any PING within an hour of the previous one, with no DATA or HEADERS between, would close the connection.
            s.UseHttp2(new Http2Options { MinPingIntervalWithoutData = TimeSpan.FromHours(1), MaxPingStrikes = 0 });
            s.AddGrpcService(new TestGreeter());
        });
        await using var relay = H2PingCountingRelay.Start(ts.Port);
        using var channel = GrpcChannel.ForAddress(relay.BaseAddress, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { UseProxy = false },
            DisposeHttpClient = true,
        });
        var client = new Greeter.GreeterClient(channel);

        // 100 messages of 64 KiB: 6.4 MB of DATA, during which the client probes RTT.
        using (var call = client.CountUp(new HelloRequest { Name = "n", Count = 100, ReplySize = 64 * 1024 }))
        {
            int received = 0;
            await foreach (var reply in call.ResponseStream.ReadAllAsync())
            {
                reply.Index.Should().Be(received++);
            }

            received.Should().Be(100);
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(async worker =>
        {
            for (int i = 0; i < 50; i++)
            {
                (await client.SayHelloAsync(new HelloRequest { Name = $"{worker}.{i}" })).Message.Should().Be($"Hello {worker}.{i}");
            }
        }));

        relay.ClientPings.Should().BeGreaterThan(0, "Grpc.Net.Client sent RTT PINGs, so the policy was exercised");
        relay.Connections.Should().Be(1, "no GOAWAY made the channel open a second connection");
        ts.Logged("ProtocolError").Should().BeFalse();
    }
}

public sealed class GrpcKeepAliveTestsOnSockets : GrpcKeepAliveTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class GrpcKeepAliveTestsOnIoUring : GrpcKeepAliveTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class GrpcKeepAliveTestsOnEpoll : GrpcKeepAliveTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
