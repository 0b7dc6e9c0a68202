using System.Text;
using Hyperion;
using Hyperion.Internal.Transport.Loops;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Http2;

/// <summary>
/// A stream whose HEADERS come without END_STREAM starts once the read batch that carried them is parsed: a body that
/// arrived in the same batch (a gRPC unary call, a small POST) is then whole, so the route runs inline on the loop
/// like a GET. A body still on its way runs on the pool, where a synchronous read may wait for it.
/// </summary>
public abstract class Http2BodyDispatchTests : TransportTests
{
    private Task<TestServer> StartProbeAsync() => StartAsync(s =>
    {
        s.UseHttp2();
        s.Handle("POST", "/where", env =>
        {
            // A synchronous read: allowed inline only because the whole body is already here.
            string body = new StreamReader(env.Body).ReadToEnd();
            return RackResponse.Text(200, (TransportLoop.IsLoopThread ? "loop " : "pool ") + body);
        });
    });

    [Fact]
    public async Task A_body_that_came_with_its_headers_runs_the_route_inline_on_the_loop()
    {
        await using var ts = await StartProbeAsync();
        await using var c = await H2RawClient.ConnectAsync(ts.Port);
        for (int id = 1; id <= 5; id += 2)
        {
            // One write, so one read batch: HEADERS, then the body in a DATA frame with END_STREAM.
            await c.SendAsync(
                H2.Frame(H2.Headers, H2.EndHeaders, id, H2.Block(H2.Post("/where", ("content-length", "5")))),
                H2.Frame(H2.Data, H2.EndStream, id, "hello"u8));
            var r = await c.ReadResponseAsync(id);
            r.Status.Should().Be(200);
            Encoding.UTF8.GetString(r.Body).Should().Be("loop hello");
        }
    }

    [Fact]
    public async Task A_body_that_follows_later_runs_the_route_on_the_pool_where_a_synchronous_read_may_wait()
    {
        await using var ts = await StartProbeAsync();
        await using var c = await H2RawClient.ConnectAsync(ts.Port);
        // HEADERS and a PING in one write: the PING's ACK says the server has parsed that batch, and started the
        // stream, before any of its body exists.
        await c.SendAsync(
            H2.Frame(H2.Headers, H2.EndHeaders, 1, H2.Block(H2.Post("/where", ("content-length", "5")))),
            H2.Frame(H2.Ping, 0, 0, new byte[8]));
        await c.ExpectAsync(f => f.Type == H2.Ping && f.Has(H2.Ack), "PING ACK");
        await c.SendAsync(H2.Frame(H2.Data, H2.EndStream, 1, "later"u8));
        var r = await c.ReadResponseAsync(1);
        Encoding.UTF8.GetString(r.Body).Should().Be("pool later");
    }
}

public sealed class Http2BodyDispatchTestsOnIoUring : Http2BodyDispatchTests
{
    // Without io_uring this runs on epoll: the sockets transport has no loop thread.
    protected override TransportKind Transport => Hyperion.Native.IoUringSupport.IsSupported ? TransportKind.IoUring : TransportKind.Epoll;
}

public sealed class Http2BodyDispatchTestsOnEpoll : Http2BodyDispatchTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
