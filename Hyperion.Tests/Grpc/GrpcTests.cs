using Grpc.Core;
using Grpc.Net.Client;
using Hyperion;
using Hyperion.Grpc;
using Hyperion.Tests.Grpc.Protos;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Grpc;

/// <summary>Base of the gRPC suites: a server hosting one Greeter, and Grpc.Net.Client channels to it.</summary>
public abstract class GrpcTests : TransportTests
{
    protected Task<TestServer> StartGreeterAsync(Greeter.GreeterBase greeter, bool tls = false, Action<GrpcServiceOptions>? grpc = null, Action<HyperionOptions>? options = null) => StartAsync(
        s =>
        {
            if (grpc is not null)
            {
                s.AddGrpc(grpc);
            }

            s.AddGrpcService(greeter);
        },
        o =>
        {
            GrpcTestServer.Configure(o, tls);
            options?.Invoke(o);
        });

    protected static (GrpcChannel Channel, Greeter.GreeterClient Client) Connect(TestServer ts, bool tls = false, GrpcChannelOptions? options = null)
    {
        var channel = GrpcTestServer.CreateChannel(ts, tls, options);
        return (channel, new Greeter.GreeterClient(channel));
    }
}
