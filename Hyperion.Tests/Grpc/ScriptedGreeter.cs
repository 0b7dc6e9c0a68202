using Grpc.Core;
using Hyperion.Tests.Grpc.Protos;

namespace Hyperion.Tests.Grpc;

/// <summary>A Greeter whose methods each test writes as a lambda; an unset one is the generated UNIMPLEMENTED.</summary>
public sealed class ScriptedGreeter : Greeter.GreeterBase
{
    public Func<HelloRequest, ServerCallContext, Task<HelloReply>>? Unary { get; init; }

    public Func<HelloRequest, IServerStreamWriter<HelloReply>, ServerCallContext, Task>? ServerStream { get; init; }

    public Func<IAsyncStreamReader<HelloRequest>, ServerCallContext, Task<HelloReply>>? ClientStream { get; init; }

    public Func<IAsyncStreamReader<HelloRequest>, IServerStreamWriter<HelloReply>, ServerCallContext, Task>? Duplex { get; init; }

    public override Task<HelloReply> SayHello(HelloRequest request, ServerCallContext context)
        => Unary is { } f ? f(request, context) : base.SayHello(request, context);

    public override Task CountUp(HelloRequest request, IServerStreamWriter<HelloReply> responseStream, ServerCallContext context)
        => ServerStream is { } f ? f(request, responseStream, context) : base.CountUp(request, responseStream, context);

    public override Task<HelloReply> JoinNames(IAsyncStreamReader<HelloRequest> requestStream, ServerCallContext context)
        => ClientStream is { } f ? f(requestStream, context) : base.JoinNames(requestStream, context);

    public override Task Chat(IAsyncStreamReader<HelloRequest> requestStream, IServerStreamWriter<HelloReply> responseStream, ServerCallContext context)
        => Duplex is { } f ? f(requestStream, responseStream, context) : base.Chat(requestStream, responseStream, context);
}
