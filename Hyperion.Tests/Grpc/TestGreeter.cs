using Grpc.Core;
using Hyperion.Tests.Grpc.Protos;

namespace Hyperion.Tests.Grpc;

/// <summary>The tests' Greeter: each call shape, echoing what the tests need to see.</summary>
public class TestGreeter : Greeter.GreeterBase
{
    public override Task<HelloReply> SayHello(HelloRequest request, ServerCallContext context)
        => Task.FromResult(new HelloReply { Message = "Hello " + request.Name, Payload = request.Payload });

    public override async Task CountUp(HelloRequest request, IServerStreamWriter<HelloReply> responseStream, ServerCallContext context)
    {
        for (int i = 0; i < request.Count; i++)
        {
            await responseStream.WriteAsync(new HelloReply { Message = request.Name, Index = i, Payload = Google.Protobuf.ByteString.CopyFrom(new byte[request.ReplySize]) });
        }
    }

    public override async Task<HelloReply> JoinNames(IAsyncStreamReader<HelloRequest> requestStream, ServerCallContext context)
    {
        var names = new List<string>();
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            names.Add(requestStream.Current.Name);
        }

        return new HelloReply { Message = string.Join(",", names), Index = names.Count };
    }

    public override async Task Chat(IAsyncStreamReader<HelloRequest> requestStream, IServerStreamWriter<HelloReply> responseStream, ServerCallContext context)
    {
        int i = 0;
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            await responseStream.WriteAsync(new HelloReply { Message = "echo " + request.Name, Index = i++ });
        }
    }
}
