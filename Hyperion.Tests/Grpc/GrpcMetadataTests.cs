using Grpc.Core;
using Hyperion;
using Hyperion.Tests.Grpc.Protos;

namespace Hyperion.Tests.Grpc;

/// <summary>What the handler's ServerCallContext shows of the request, and the response headers it sends.</summary>
public abstract class GrpcMetadataTests : GrpcTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_context_shows_method_host_peer_and_the_custom_request_headers_only(bool tls)
    {
        ServerCallContext? seen = null;
        Metadata? headers = null;
        string? peer = null, method = null, host = null;
        var greeter = new ScriptedGreeter
        {
            Unary = (r, c) =>
            {
                seen = c;
                headers = c.RequestHeaders;
                peer = c.Peer;
                method = c.Method;
                host = c.Host;
                return Task.FromResult(new HelloReply());
            },
        };
        await using var ts = await StartGreeterAsync(greeter, tls);
        var (channel, client) = Connect(ts, tls);
        using var _ = channel;

        await client.SayHelloAsync(new HelloRequest(), new Metadata { { "x-plain", "v1" }, { "x-data-bin", new byte[] { 1, 2, 3, 4, 5 } } });

        seen.Should().NotBeNull();
        method.Should().Be("/hyperion.tests.Greeter/SayHello");
        host.Should().Be($"127.0.0.1:{ts.Port}");
        peer.Should().MatchRegex(@"^ipv4:127\.0\.0\.1:\d+$");
        headers!.GetValue("x-plain").Should().Be("v1");
        headers.GetValueBytes("x-data-bin").Should().Equal(1, 2, 3, 4, 5);
        headers.Get("user-agent").Should().NotBeNull();
        foreach (var hidden in new[] { "te", "content-type", "grpc-accept-encoding", ":path", ":authority", "host" })
        {
            headers.Get(hidden).Should().BeNull(hidden + " is the server's own");
        }
    }

    [Fact]
    public async Task Response_headers_go_out_once_before_the_first_message()
    {
        Exception? second = null;
        var greeter = new ScriptedGreeter
        {
            ServerStream = async (r, w, c) =>
            {
                await c.WriteResponseHeadersAsync(new Metadata { { "x-initial", "yes" }, { "x-initial-bin", new byte[] { 9, 8 } } });
                second = await Record.ExceptionAsync(() => c.WriteResponseHeadersAsync(new Metadata { { "x-again", "no" } }));
                await w.WriteAsync(new HelloReply { Message = "after headers" });
            },
        };
        await using var ts = await StartGreeterAsync(greeter);
        var (channel, client) = Connect(ts);
        using var _ = channel;

        using var call = client.CountUp(new HelloRequest());
        var responseHeaders = await call.ResponseHeadersAsync;
        var messages = await call.ResponseStream.ReadAllAsync().ToListAsync();

        responseHeaders.GetValue("x-initial").Should().Be("yes");
        responseHeaders.GetValueBytes("x-initial-bin").Should().Equal(9, 8);
        messages.Select(m => m.Message).Should().Equal("after headers");
        second.Should().BeOfType<InvalidOperationException>();
    }

    [Fact]
    public async Task Headers_sent_before_a_slow_first_message_reach_the_client_at_once()
    {
        var release = new TaskCompletionSource();
        var greeter = new ScriptedGreeter
        {
            ServerStream = async (r, w, c) =>
            {
                await c.WriteResponseHeadersAsync(new Metadata { { "x-early", "1" } });
                await release.Task;
                await w.WriteAsync(new HelloReply { Message = "late" });
            },
        };
        await using var ts = await StartGreeterAsync(greeter);
        var (channel, client) = Connect(ts);
        using var _ = channel;

        using var call = client.CountUp(new HelloRequest());
        (await call.ResponseHeadersAsync.WaitAsync(TimeSpan.FromSeconds(5))).GetValue("x-early").Should().Be("1");
        release.SetResult();
        (await call.ResponseStream.ReadAllAsync().ToListAsync()).Should().ContainSingle();
    }
}

public sealed class GrpcMetadataTestsOnSockets : GrpcMetadataTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class GrpcMetadataTestsOnIoUring : GrpcMetadataTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class GrpcMetadataTestsOnEpoll : GrpcMetadataTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
