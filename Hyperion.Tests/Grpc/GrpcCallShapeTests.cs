using Grpc.Core;
using Hyperion;
using Hyperion.Grpc;
using Hyperion.Tests.Grpc.Protos;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Grpc;

/// <summary>The four call shapes through Grpc.Net.Client, over h2c and TLS, on every transport.</summary>
public abstract class GrpcCallShapeTests : TransportTests
{
    private Task<TestServer> StartGreeterAsync(bool tls, Action<HyperionServer>? more = null) => StartAsync(
        s =>
        {
            s.AddGrpcService(new TestGreeter());
            more?.Invoke(s);
        },
        o => GrpcTestServer.Configure(o, tls));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_unary_call_answers(bool tls)
    {
        await using var ts = await StartGreeterAsync(tls);
        using var channel = GrpcTestServer.CreateChannel(ts, tls);
        var client = new Greeter.GreeterClient(channel);

        var reply = await client.SayHelloAsync(new HelloRequest { Name = "World" });

        reply.Message.Should().Be("Hello World");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_server_stream_delivers_every_message_in_order(bool tls)
    {
        await using var ts = await StartGreeterAsync(tls);
        using var channel = GrpcTestServer.CreateChannel(ts, tls);
        var client = new Greeter.GreeterClient(channel);

        using var call = client.CountUp(new HelloRequest { Name = "n", Count = 50, ReplySize = 100 });
        var indexes = new List<int>();
        await foreach (var reply in call.ResponseStream.ReadAllAsync())
        {
            indexes.Add(reply.Index);
        }

        indexes.Should().Equal(Enumerable.Range(0, 50));
        call.GetStatus().StatusCode.Should().Be(StatusCode.OK);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_client_stream_is_read_to_its_end(bool tls)
    {
        await using var ts = await StartGreeterAsync(tls);
        using var channel = GrpcTestServer.CreateChannel(ts, tls);
        var client = new Greeter.GreeterClient(channel);

        using var call = client.JoinNames();
        foreach (var name in new[] { "a", "b", "c" })
        {
            await call.RequestStream.WriteAsync(new HelloRequest { Name = name });
        }

        await call.RequestStream.CompleteAsync();
        var reply = await call;

        reply.Message.Should().Be("a,b,c");
        reply.Index.Should().Be(3);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_bidirectional_stream_answers_each_message_as_it_arrives(bool tls)
    {
        await using var ts = await StartGreeterAsync(tls);
        using var channel = GrpcTestServer.CreateChannel(ts, tls);
        var client = new Greeter.GreeterClient(channel);

        using var call = client.Chat();
        for (int i = 0; i < 5; i++)
        {
            // Ping-pong: the answer must arrive before the next message is sent.
            await call.RequestStream.WriteAsync(new HelloRequest { Name = "m" + i });
            (await call.ResponseStream.MoveNext()).Should().BeTrue();
            call.ResponseStream.Current.Message.Should().Be("echo m" + i);
            call.ResponseStream.Current.Index.Should().Be(i);
        }

        await call.RequestStream.CompleteAsync();
        (await call.ResponseStream.MoveNext()).Should().BeFalse();
        call.GetStatus().StatusCode.Should().Be(StatusCode.OK);
    }
}

public sealed class GrpcCallShapeTestsOnSockets : GrpcCallShapeTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class GrpcCallShapeTestsOnIoUring : GrpcCallShapeTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class GrpcCallShapeTestsOnEpoll : GrpcCallShapeTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
