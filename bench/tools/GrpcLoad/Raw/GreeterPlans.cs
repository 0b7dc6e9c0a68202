using Google.Protobuf;
using Hyperion.Samples.Greet;

namespace GrpcLoad;

/// <summary>The raw client's calls on samples/Grpc's Greeter (greet.proto), as bench/grpc.sh runs them.</summary>
internal static class GreeterPlans
{
    /// <param name="mode">unary (SayHello), server-stream (SayHellos) or bidi (Chat).</param>
    /// <param name="messages">Replies per SayHellos call: HelloRequest.count (greet.proto).</param>
    /// <param name="rounds">Round trips per Chat call; 0: until the run's end.</param>
    public static RawCallPlan For(string mode, int messages, int rounds)
    {
        string service = "/" + Greeter.Descriptor.FullName + "/";
        // GreeterService answers every name with "Hello, " + name, in every shape.
        byte[] reply = new HelloReply { Message = "Hello, world" }.ToByteArray();
        return mode switch
        {
            "unary" => new RawCallPlan
            {
                Kind = RawCallKind.Unary,
                Path = service + "SayHello",
                Request = new HelloRequest { Name = "world" }.ToByteArray(),
                ExpectedReply = reply,
            },
            "server-stream" => new RawCallPlan
            {
                Kind = RawCallKind.ServerStream,
                Path = service + "SayHellos",
                Request = new HelloRequest { Name = "world", Count = messages }.ToByteArray(),
                ExpectedReply = reply,
                Replies = Math.Max(1, messages),   // the service sends 1 when count is 0
            },
            "bidi" => new RawCallPlan
            {
                Kind = RawCallKind.Bidi,
                Path = service + "Chat",
                Request = new HelloRequest { Name = "world" }.ToByteArray(),
                ExpectedReply = reply,
                Rounds = rounds,
            },
            _ => throw new ArgumentException("unknown mode " + mode, nameof(mode)),
        };
    }
}
