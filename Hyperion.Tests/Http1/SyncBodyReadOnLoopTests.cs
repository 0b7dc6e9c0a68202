using System.Text;
using Hyperion;
using Hyperion.Http2;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Http1;

/// <summary>
/// rack.input read synchronously (issue 10 item 6, issue 11 item 5). The rule, the same on every transport and in the
/// in-process client: a request whose body has not all arrived when it is dispatched runs on the thread pool, where a
/// synchronous read may wait; one whose body is all here runs inline and its reads are served from the buffer. So a
/// synchronous read never fails for the body's size or the transport.
/// </summary>
public abstract class SyncBodyReadOnLoopTests : TransportTests
{
    protected async Task A_sync_read_of_a_body_sent_after_the_head_waits_for_it()
    {
        await using var ts = await StartAsync(s => s.Handle("POST", "/echo", env =>
        {
            var buffer = new byte[64];
            int total = 0;
            int n;
            while ((n = env.Body.Read(buffer.AsSpan(total))) > 0)
            {
                total += n;
            }

            return RackResponse.Text(200, Encoding.ASCII.GetString(buffer, 0, total));
        }), o => o.LoopCount = 1);

        using var c = await ts.ConnectAsync();
        await c.SendAsync("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n");
        await Task.Delay(50); // the head alone: whether or not the route has started yet, its read must wait, not fail
        await c.SendAsync("hello world");
        var response = await c.ReadResponseAsync();
        response.Status.Should().Be(200);
        response.BodyText.Should().Be("hello world");
    }

    protected async Task A_sync_route_deserializing_a_large_body_gets_200(bool http2)
    {
        await using var ts = await StartAsync(s =>
        {
            if (http2)
            {
                s.UseHttp2();
            }

            s.Handle("POST", "/items", Dispatch.SyncBodyRoutes.CountItems);
        });
        using var client = ts.CreateHttpClient();
        if (http2)
        {
            client.DefaultRequestVersion = System.Net.HttpVersion.Version20;
            client.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }

        var response = await client.PostAsync("/items", new StringContent(Dispatch.SyncBodyRoutes.LargeJson, Encoding.UTF8, "application/json"));
        ((int)response.StatusCode).Should().Be(200);
        (await response.Content.ReadAsStringAsync()).Should().Be(Dispatch.SyncBodyRoutes.LargeJsonCount);
        ts.Logs.Lines.Should().NotContain(l => l.EventId.Name == "AppError");
    }

    protected async Task A_sync_read_of_buffered_bytes_succeeds_on_the_loop()
    {
        await using var ts = await StartAsync(s => s.Handle("POST", "/sync", env =>
        {
            var buffer = new byte[64];
            int total = 0;
            int n;
            while ((n = env.Body.Read(buffer.AsSpan(total))) > 0)
            {
                total += n;
            }

            return RackResponse.Text(200, Encoding.ASCII.GetString(buffer, 0, total));
        }), o => o.LoopCount = 1);

        using var c = await ts.ConnectAsync();
        await c.SendAsync("POST /sync HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
        var response = await c.ReadResponseAsync();
        response.Status.Should().Be(200);
        response.BodyText.Should().Be("hello world");
    }
}

public sealed class SyncBodyReadOnLoopTestsOnIoUring : SyncBodyReadOnLoopTests
{
    protected override TransportKind Transport => IoUringOrFallback;

    [RequiresIoUringFact]
    public Task Late_body_sync_read() => A_sync_read_of_a_body_sent_after_the_head_waits_for_it();

    [RequiresIoUringFact]
    public Task Large_body_http1() => A_sync_route_deserializing_a_large_body_gets_200(http2: false);

    [RequiresIoUringFact]
    public Task Large_body_h2c() => A_sync_route_deserializing_a_large_body_gets_200(http2: true);

    [RequiresIoUringFact]
    public Task Buffered_sync_read() => A_sync_read_of_buffered_bytes_succeeds_on_the_loop();
}

public sealed class SyncBodyReadOnLoopTestsOnEpoll : SyncBodyReadOnLoopTests
{
    protected override TransportKind Transport => TransportKind.Epoll;

    [Fact]
    public Task Late_body_sync_read() => A_sync_read_of_a_body_sent_after_the_head_waits_for_it();

    [Fact]
    public Task Large_body_http1() => A_sync_route_deserializing_a_large_body_gets_200(http2: false);

    [Fact]
    public Task Large_body_h2c() => A_sync_route_deserializing_a_large_body_gets_200(http2: true);

    [Fact]
    public Task Buffered_sync_read() => A_sync_read_of_buffered_bytes_succeeds_on_the_loop();
}

public sealed class SyncBodyReadOnLoopTestsOnSockets : SyncBodyReadOnLoopTests
{
    protected override TransportKind Transport => TransportKind.Sockets;

    [Fact]
    public Task Late_body_sync_read() => A_sync_read_of_a_body_sent_after_the_head_waits_for_it();

    [Fact]
    public Task Large_body_http1() => A_sync_route_deserializing_a_large_body_gets_200(http2: false);

    [Fact]
    public Task Large_body_h2c() => A_sync_route_deserializing_a_large_body_gets_200(http2: true);

    [Fact]
    public Task Buffered_sync_read() => A_sync_read_of_buffered_bytes_succeeds_on_the_loop();
}
