using Grpc.Core;
using Hyperion;
using Hyperion.Grpc;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Grpc;

/// <summary>Marshallers without the buffer-writer path: byte[] in, byte[] out, through the same server code.</summary>
public abstract class GrpcMarshallerTests : GrpcTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Byte_array_marshallers_work_for_instances_and_factories(bool factory)
    {
        await using var ts = await StartAsync(s =>
        {
            if (factory)
            {
                s.AddGrpcService(() => new PlainMarshallerService.Impl());
            }
            else
            {
                s.AddGrpcService(new PlainMarshallerService.Impl());
            }
        });
        using var channel = GrpcTestServer.CreateChannel(ts, tls: false);
        var invoker = channel.CreateCallInvoker();

        (await invoker.AsyncUnaryCall(PlainMarshallerService.Shout, null, default, "hey")).Should().Be("HEY!");
        using var call = invoker.AsyncServerStreamingCall(PlainMarshallerService.Letters, null, default, "abc");
        (await call.ResponseStream.ReadAllAsync().ToListAsync()).Should().Equal("a", "b", "c");
    }
}

public sealed class GrpcMarshallerTestsOnSockets : GrpcMarshallerTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class GrpcMarshallerTestsOnIoUring : GrpcMarshallerTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class GrpcMarshallerTestsOnEpoll : GrpcMarshallerTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
