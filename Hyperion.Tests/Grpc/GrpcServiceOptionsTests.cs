using Grpc.Core;
using Grpc.Core.Interceptors;
using Hyperion;
using Hyperion.Grpc;
using Hyperion.Tests.Grpc.Protos;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Grpc;

/// <summary>Interceptors around every shape in the order given, the factory form, and an HTTP/2-only listener.</summary>
public abstract class GrpcServiceOptionsTests : GrpcTests
{
    [Fact]
    public async Task Interceptors_wrap_all_four_shapes_in_the_order_given_server_wide_first()
    {
        var log = new List<string>();
        await using var ts = await StartAsync(s =>
        {
            s.AddGrpc(o =>
            {
                o.Interceptors.Add(new Recording("A", log));
                o.Interceptors.Add(new Recording("B", log));
            });
            s.AddGrpcService(new TestGreeter(), o => o.Interceptors.Add(new Recording("C", log)));
        });
        var (channel, client) = Connect(ts);
        using var _ = channel;

        await client.SayHelloAsync(new HelloRequest { Name = "u" });
        using (var call = client.CountUp(new HelloRequest { Count = 2 }))
        {
            await call.ResponseStream.ReadAllAsync().ToListAsync();
        }

        using (var call = client.JoinNames())
        {
            await call.RequestStream.CompleteAsync();
            await call;
        }

        using (var call = client.Chat())
        {
            await call.RequestStream.CompleteAsync();
            await call.ResponseStream.ReadAllAsync().ToListAsync();
        }

        string[] Around(string shape) => [$"A>{shape}", $"B>{shape}", $"C>{shape}", $"C<{shape}", $"B<{shape}", $"A<{shape}"];
        lock (log)
        {
            log.Should().Equal([.. Around("unary"), .. Around("server"), .. Around("client"), .. Around("duplex")]);
        }
    }

    [Fact]
    public async Task An_interceptor_can_refuse_a_call()
    {
        await using var ts = await StartAsync(s => s.AddGrpcService(new TestGreeter(), o => o.Interceptors.Add(new Refusing())));
        var (channel, client) = Connect(ts);
        using var _ = channel;

        var ex = await FluentActions.Awaiting(async () => await client.SayHelloAsync(new HelloRequest())).Should().ThrowAsync<RpcException>();

        ex.Which.StatusCode.Should().Be(StatusCode.Unauthenticated);
    }

    [Fact]
    public async Task The_factory_form_makes_an_instance_per_call_and_disposes_it()
    {
        int made = 0;
        var disposed = new List<int>();
        await using var ts = await StartAsync(s => s.AddGrpcService(() => new DisposableGreeter(Interlocked.Increment(ref made), disposed)));
        var (channel, client) = Connect(ts);
        using var _ = channel;

        for (int i = 1; i <= 3; i++)
        {
            (await client.SayHelloAsync(new HelloRequest { Name = "f" })).Message.Should().Be($"instance {i}");
        }

        using (var call = client.CountUp(new HelloRequest { Count = 3 }))
        {
            (await call.ResponseStream.ReadAllAsync().ToListAsync()).Select(r => r.Message).Should().Equal("instance 4", "instance 4", "instance 4");
        }

        made.Should().Be(4);
        lock (disposed)
        {
            disposed.Should().BeEquivalentTo([1, 2, 3, 4]);
        }
    }

    [Fact]
    public async Task A_type_that_is_not_a_generated_service_is_refused_at_registration()
    {
        var server = new HyperionServer();
        await using var _ = server;

        FluentActions.Invoking(() => server.AddGrpcService(new object())).Should().Throw<ArgumentException>().WithMessage("*BindServiceMethod*");
    }

    [Fact]
    public async Task Invalid_options_are_refused()
    {
        var server = new HyperionServer();
        await using var _ = server;

        FluentActions.Invoking(() => server.AddGrpc(o => o.ResponseCompressionAlgorithm = "br")).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => server.AddGrpc(o => o.MaxReceiveMessageSize = -1)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task An_http2_only_cleartext_listener_serves_grpc()
    {
        await using var ts = await StartAsync(
            s => s.AddGrpcService(new TestGreeter()),
            o => o.Listen(System.Net.IPAddress.Loopback, 0, HttpProtocols.Http2));
        var (channel, client) = Connect(ts);
        using var _ = channel;

        (await client.SayHelloAsync(new HelloRequest { Name = "h2 only" })).Message.Should().Be("Hello h2 only");
    }

    private sealed class Recording(string name, List<string> log) : Interceptor
    {
        private void Add(string entry)
        {
            lock (log)
            {
                log.Add(entry);
            }
        }

        public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        {
            Add($"{name}>unary");
            var response = await continuation(request, context);
            Add($"{name}<unary");
            return response;
        }

        public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
        {
            Add($"{name}>server");
            await continuation(request, responseStream, context);
            Add($"{name}<server");
        }

        public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
        {
            Add($"{name}>client");
            var response = await continuation(requestStream, context);
            Add($"{name}<client");
            return response;
        }

        public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
        {
            Add($"{name}>duplex");
            await continuation(requestStream, responseStream, context);
            Add($"{name}<duplex");
        }
    }

    private sealed class Refusing : Interceptor
    {
        public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
            => throw new RpcException(new Status(StatusCode.Unauthenticated, "no token"));
    }

    private sealed class DisposableGreeter(int id, List<int> disposed) : Greeter.GreeterBase, IDisposable
    {
        public override Task<HelloReply> SayHello(HelloRequest request, ServerCallContext context)
            => Task.FromResult(new HelloReply { Message = $"instance {id}" });

        public override async Task CountUp(HelloRequest request, IServerStreamWriter<HelloReply> responseStream, ServerCallContext context)
        {
            for (int i = 0; i < request.Count; i++)
            {
                await responseStream.WriteAsync(new HelloReply { Message = $"instance {id}" });
            }
        }

        public void Dispose()
        {
            lock (disposed)
            {
                disposed.Add(id);
            }
        }
    }
}

public sealed class GrpcServiceOptionsTestsOnSockets : GrpcServiceOptionsTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class GrpcServiceOptionsTestsOnIoUring : GrpcServiceOptionsTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class GrpcServiceOptionsTestsOnEpoll : GrpcServiceOptionsTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
