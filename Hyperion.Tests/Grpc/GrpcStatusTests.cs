using Grpc.Core;
using Hyperion;
using Hyperion.Tests.Grpc.Protos;

namespace Hyperion.Tests.Grpc;

/// <summary>grpc-status, grpc-message and trailers as Grpc.Net.Client sees them (PROTOCOL-HTTP2.md Status, Trailers).</summary>
public abstract class GrpcStatusTests : GrpcTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_RpcException_reaches_the_client_with_its_status_detail_and_trailers(bool tls)
    {
        var greeter = new ScriptedGreeter
        {
            Unary = (r, c) => throw new RpcException(new Status(StatusCode.NotFound, "no such name: ünïcödé % 100"), new Metadata { { "x-why", "gone" }, { "x-blob-bin", new byte[] { 0, 1, 2, 250 } } }),
        };
        await using var ts = await StartGreeterAsync(greeter, tls);
        var (channel, client) = Connect(ts, tls);
        using var _ = channel;

        var ex = await FluentActions.Awaiting(async () => await client.SayHelloAsync(new HelloRequest { Name = "x" })).Should().ThrowAsync<RpcException>();

        ex.Which.StatusCode.Should().Be(StatusCode.NotFound);
        ex.Which.Status.Detail.Should().Be("no such name: ünïcödé % 100");
        ex.Which.Trailers.GetValue("x-why").Should().Be("gone");
        ex.Which.Trailers.GetValueBytes("x-blob-bin").Should().Equal(0, 1, 2, 250);
    }

    [Fact]
    public async Task Another_exception_is_UNKNOWN_without_detail_and_logged()
    {
        var greeter = new ScriptedGreeter { Unary = (r, c) => throw new InvalidOperationException("secret internals") };
        await using var ts = await StartGreeterAsync(greeter);
        var (channel, client) = Connect(ts);
        using var _ = channel;

        var ex = await FluentActions.Awaiting(async () => await client.SayHelloAsync(new HelloRequest())).Should().ThrowAsync<RpcException>();

        ex.Which.StatusCode.Should().Be(StatusCode.Unknown);
        ex.Which.Status.Detail.Should().Be("Exception was thrown by handler.");
        ts.Logged("GrpcHandlerFailed", "/hyperion.tests.Greeter/SayHello").Should().BeTrue();
    }

    [Fact]
    public async Task Detailed_errors_name_the_exception()
    {
        var greeter = new ScriptedGreeter { Unary = (r, c) => throw new InvalidOperationException("secret internals") };
        await using var ts = await StartGreeterAsync(greeter, grpc: o => o.EnableDetailedErrors = true);
        var (channel, client) = Connect(ts);
        using var _ = channel;

        var ex = await FluentActions.Awaiting(async () => await client.SayHelloAsync(new HelloRequest())).Should().ThrowAsync<RpcException>();

        ex.Which.StatusCode.Should().Be(StatusCode.Unknown);
        ex.Which.Status.Detail.Should().Be("Exception was thrown by handler. InvalidOperationException: secret internals");
    }

    [Fact]
    public async Task A_status_set_on_the_context_ends_a_stream_that_returned_normally()
    {
        var greeter = new ScriptedGreeter
        {
            ServerStream = async (r, w, c) =>
            {
                await w.WriteAsync(new HelloReply { Message = "one" });
                c.ResponseTrailers.Add("x-count", "1");
                c.Status = new Status(StatusCode.Aborted, "stopped after one");
            },
        };
        await using var ts = await StartGreeterAsync(greeter);
        var (channel, client) = Connect(ts);
        using var _ = channel;

        using var call = client.CountUp(new HelloRequest());
        (await call.ResponseStream.MoveNext()).Should().BeTrue();
        call.ResponseStream.Current.Message.Should().Be("one");
        var ex = await FluentActions.Awaiting(async () => await call.ResponseStream.MoveNext()).Should().ThrowAsync<RpcException>();

        ex.Which.StatusCode.Should().Be(StatusCode.Aborted);
        ex.Which.Status.Detail.Should().Be("stopped after one");
        call.GetTrailers().GetValue("x-count").Should().Be("1");
    }

    [Fact]
    public async Task A_method_the_implementation_does_not_override_is_UNIMPLEMENTED()
    {
        await using var ts = await StartGreeterAsync(new ScriptedGreeter());
        var (channel, client) = Connect(ts);
        using var _ = channel;

        var ex = await FluentActions.Awaiting(async () => await client.SayHelloAsync(new HelloRequest())).Should().ThrowAsync<RpcException>();

        ex.Which.StatusCode.Should().Be(StatusCode.Unimplemented);
    }

    [Fact]
    public async Task An_unknown_service_is_UNIMPLEMENTED()
    {
        await using var ts = await StartGreeterAsync(new TestGreeter());
        var (channel, _) = Connect(ts);
        using var __ = channel;
        var other = new Unregistered.UnregisteredClient(channel);

        var ex = await FluentActions.Awaiting(async () => await other.NothingAsync(new HelloRequest())).Should().ThrowAsync<RpcException>();

        ex.Which.StatusCode.Should().Be(StatusCode.Unimplemented);
        ex.Which.Status.Detail.Should().Be("Service is unimplemented.");
    }
}

public sealed class GrpcStatusTestsOnSockets : GrpcStatusTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class GrpcStatusTestsOnIoUring : GrpcStatusTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class GrpcStatusTestsOnEpoll : GrpcStatusTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
