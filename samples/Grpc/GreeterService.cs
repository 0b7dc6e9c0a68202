using Grpc.Core;

namespace Hyperion.Samples.Greet;

/// <summary>
/// The Greeter from greet.proto: plain generated-base-class code that runs unchanged on Hyperion and on ASP.NET Core
/// (bench/peers/KestrelGrpc compiles this same file).
/// </summary>
public sealed class GreeterService : Greeter.GreeterBase
{
    /// <summary>The most replies one SayHellos call may ask for, and the most names GreetAll takes: one call cannot
    /// keep the server busy or grow its memory without bound.</summary>
    public const int MaxReplies = 10_000;

    /// <inheritdoc />
    public override Task<HelloReply> SayHello(HelloRequest request, ServerCallContext context)
        => Task.FromResult(new HelloReply { Message = "Hello, " + request.Name });

    /// <inheritdoc />
    public override async Task SayHellos(HelloRequest request, IServerStreamWriter<HelloReply> responseStream, ServerCallContext context)
    {
        if (request.Count is < 0 or > MaxReplies)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"count must be 0..{MaxReplies}"));
        }

        // One reply object written many times: each write serializes it, so nothing is shared with the client.
        var reply = new HelloReply { Message = "Hello, " + request.Name };
        for (int i = 0; i < Math.Max(1, request.Count); i++)
        {
            await responseStream.WriteAsync(reply, context.CancellationToken);
        }
    }

    /// <inheritdoc />
    public override async Task<HelloReply> GreetAll(IAsyncStreamReader<HelloRequest> requestStream, ServerCallContext context)
    {
        var names = new List<string>();
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            if (names.Count == MaxReplies)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"at most {MaxReplies} names"));
            }

            names.Add(requestStream.Current.Name);
        }

        return new HelloReply { Message = "Hello, " + string.Join(", ", names) };
    }

    /// <inheritdoc />
    public override async Task Chat(IAsyncStreamReader<HelloRequest> requestStream, IServerStreamWriter<HelloReply> responseStream, ServerCallContext context)
    {
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            await responseStream.WriteAsync(new HelloReply { Message = "Hello, " + requestStream.Current.Name }, context.CancellationToken);
        }
    }
}
