using System.IO.Compression;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Compression;
using Hyperion;
using Hyperion.Grpc;
using Hyperion.Tests.Grpc.Protos;
using Hyperion.Tests.Http2;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Grpc;

/// <summary>grpc-encoding both ways with Grpc.Net.Client, per-message NoCompress, and the message size limits.</summary>
public abstract class GrpcCompressionTests : GrpcTests
{
    private static readonly string Big = new('a', 20_000);

    private static GrpcChannelOptions BothCodecs() => new()
    {
        CompressionProviders = [new GzipCompressionProvider(CompressionLevel.Fastest), new DeflateCompressionProvider(CompressionLevel.Fastest)],
    };

    private static ScriptedGreeter Echo() => new()
    {
        Unary = (r, c) => Task.FromResult(new HelloReply { Message = r.Name, Payload = r.Payload }),
    };

    [Theory]
    [InlineData("gzip", false)]
    [InlineData("deflate", false)]
    [InlineData("gzip", true)]
    public async Task Compressed_calls_work_both_ways(string encoding, bool tls)
    {
        string? requestEncoding = null;
        var responseEncoding = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartAsync(
            s =>
            {
                s.OnRequestStart(env => requestEncoding = env.Headers.Get("grpc-encoding"));
                s.OnRequestEnd((env, response, error) => responseEncoding.TrySetResult(response?.Headers.FirstOrDefault(h => h.Name == "grpc-encoding").Value));
                s.AddGrpc(o => o.ResponseCompressionAlgorithm = encoding);
                s.AddGrpcService(Echo());
            },
            o => GrpcTestServer.Configure(o, tls));
        var (channel, client) = Connect(ts, tls, BothCodecs());
        using var _ = channel;

        // grpc-dotnet's client compresses its request when the call carries grpc-internal-encoding-request.
        using var call = client.SayHelloAsync(new HelloRequest { Name = Big }, new Metadata { { "grpc-internal-encoding-request", encoding } });
        var reply = await call.ResponseAsync;

        reply.Message.Should().Be(Big);
        requestEncoding.Should().Be(encoding);

        // Grpc.Net.Client keeps grpc-encoding out of the headers it shows; the server's response says what was sent.
        (await responseEncoding.Task.WaitAsync(TimeSpan.FromSeconds(5))).Should().Be(encoding);
    }

    [Fact]
    public async Task Messages_are_compressed_when_the_client_accepts_the_encoding_except_those_marked_NoCompress()
    {
        var greeter = new ScriptedGreeter
        {
            ServerStream = async (r, w, c) =>
            {
                await w.WriteAsync(new HelloReply { Message = Big });
                w.WriteOptions = new WriteOptions(WriteFlags.NoCompress);
                await w.WriteAsync(new HelloReply { Message = Big });
            },
        };
        await using var ts = await StartGreeterAsync(greeter, grpc: o => o.ResponseCompressionAlgorithm = "gzip");
        await using var h2 = await H2RawClient.ConnectAsync(ts.Port);

        await h2.SendHeadersAsync(1, endStream: false, GrpcRaw.Headers(GrpcRaw.CountUp, ("grpc-accept-encoding", "identity,gzip")));
        await h2.SendAsync(GrpcRaw.Data(1, GrpcRaw.Message(new HelloRequest())));
        var response = await h2.ReadResponseAsync(1);

        response.Header("grpc-encoding").Should().Be("gzip");
        Flags(response.Body).Should().Equal(1, 0);
        GrpcRaw.Field(response.Trailers, "grpc-status").Should().Be("0");
    }

    [Fact]
    public async Task No_compression_reaches_a_client_that_does_not_accept_it()
    {
        var text = new string('a', 10_000);
        await using var ts = await StartGreeterAsync(Echo(), grpc: o => o.ResponseCompressionAlgorithm = "gzip");
        await using var h2 = await H2RawClient.ConnectAsync(ts.Port);

        await h2.SendHeadersAsync(1, endStream: false, GrpcRaw.Headers(GrpcRaw.SayHello));
        await h2.SendAsync(GrpcRaw.Data(1, GrpcRaw.Message(new HelloRequest { Name = text })));
        var response = await h2.ReadResponseAsync(1);

        response.Header("grpc-encoding").Should().BeNull();
        Flags(response.Body).Should().Equal(0);
    }

    [Fact]
    public async Task A_handler_picks_its_response_encoding_with_grpc_internal_encoding_request()
    {
        var greeter = new ScriptedGreeter
        {
            Unary = async (r, c) =>
            {
                await c.WriteResponseHeadersAsync(new Metadata { { "grpc-internal-encoding-request", "deflate" } });
                return new HelloReply { Message = Big };
            },
        };
        await using var ts = await StartGreeterAsync(greeter);
        await using var h2 = await H2RawClient.ConnectAsync(ts.Port);

        await h2.SendHeadersAsync(1, endStream: false, GrpcRaw.Headers(GrpcRaw.SayHello, ("grpc-accept-encoding", "gzip,deflate")));
        await h2.SendAsync(GrpcRaw.Data(1, GrpcRaw.Message(new HelloRequest())));
        var response = await h2.ReadResponseAsync(1);

        response.Header("grpc-encoding").Should().Be("deflate");
        response.Header("grpc-internal-encoding-request").Should().BeNull();
        Flags(response.Body).Should().Equal(1);
        using var inflater = new ZLibStream(new MemoryStream(GrpcRaw.Messages(response.Body).Single()), CompressionMode.Decompress);
        HelloReply.Parser.ParseFrom(inflater).Message.Should().Be(Big);
    }

    [Fact]
    public async Task A_request_message_over_the_receive_limit_is_RESOURCE_EXHAUSTED()
    {
        await using var ts = await StartGreeterAsync(Echo(), grpc: o => o.MaxReceiveMessageSize = 1000);
        var (channel, client) = Connect(ts);
        using var _ = channel;

        (await client.SayHelloAsync(new HelloRequest { Name = new string('s', 900) })).Message.Should().HaveLength(900);
        var ex = await FluentActions.Awaiting(async () => await client.SayHelloAsync(new HelloRequest { Name = new string('b', 1100) })).Should().ThrowAsync<RpcException>();

        ex.Which.StatusCode.Should().Be(StatusCode.ResourceExhausted);
    }

    [Fact]
    public async Task The_default_receive_limit_is_4_MiB()
    {
        await using var ts = await StartGreeterAsync(Echo());
        var (channel, client) = Connect(ts);
        using var _ = channel;

        var ex = await FluentActions.Awaiting(async () => await client.SayHelloAsync(new HelloRequest { Payload = ByteString.CopyFrom(new byte[(4 * 1024 * 1024) + 1]) })).Should().ThrowAsync<RpcException>();

        ex.Which.StatusCode.Should().Be(StatusCode.ResourceExhausted);
    }

    [Fact]
    public async Task A_response_message_over_the_send_limit_is_RESOURCE_EXHAUSTED()
    {
        await using var ts = await StartGreeterAsync(Echo(), grpc: o => o.MaxSendMessageSize = 1000);
        var (channel, client) = Connect(ts);
        using var _ = channel;

        (await client.SayHelloAsync(new HelloRequest { Name = new string('s', 900) })).Message.Should().HaveLength(900);
        var ex = await FluentActions.Awaiting(async () => await client.SayHelloAsync(new HelloRequest { Name = new string('b', 1100) })).Should().ThrowAsync<RpcException>();

        ex.Which.StatusCode.Should().Be(StatusCode.ResourceExhausted);
    }

    [Fact]
    public async Task A_service_can_raise_the_server_wide_limit_for_itself()
    {
        await using var ts = await StartAsync(s =>
        {
            s.AddGrpc(o => o.MaxReceiveMessageSize = 100);
            s.AddGrpcService(Echo(), o => o.MaxReceiveMessageSize = 10_000);
        });
        var (channel, client) = Connect(ts);
        using var _ = channel;

        (await client.SayHelloAsync(new HelloRequest { Name = new string('s', 5000) })).Message.Should().HaveLength(5000);
    }

    private static List<byte> Flags(byte[] body)
    {
        var flags = new List<byte>();
        int at = 0;
        while (at < body.Length)
        {
            flags.Add(body[at]);
            at += 5 + (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(at + 1));
        }

        return flags;
    }
}

public sealed class GrpcCompressionTestsOnSockets : GrpcCompressionTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class GrpcCompressionTestsOnIoUring : GrpcCompressionTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class GrpcCompressionTestsOnEpoll : GrpcCompressionTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
