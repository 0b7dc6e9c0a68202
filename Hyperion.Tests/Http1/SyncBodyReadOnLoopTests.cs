using System.Buffers;
using System.Text;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Http1;

/// <summary>
/// rack.input read synchronously on a loop thread (issue 10, item 6): only buffered bytes can be read there.
/// A read that would wait is refused without starting one, so no later body lands in a buffer the caller
/// gave back (the old code started a read into a pooled array, threw, and returned the array while it was pending).
/// </summary>
public abstract class SyncBodyReadOnLoopTests : TransportTests
{
    private const int ReadSize = 1000; // an ArrayPool bucket (1 KiB) nothing else on the loop thread uses here

    protected async Task A_refused_sync_read_starts_no_read_and_the_body_is_still_there_for_ReadAsync()
    {
        var refused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartAsync(s => s.Handle("POST", "/echo", async env =>
        {
            var outcome = new StringBuilder();
            try
            {
                _ = env.Body.Read(new byte[ReadSize], 0, ReadSize);
                outcome.Append("read-without-waiting;");
            }
            catch (InvalidOperationException)
            {
                outcome.Append("refused;");
            }

            // ArrayPool.Shared hands this thread the array it was given last for this size: the one the old code
            // returned while its read was still pending. Fill it and see whether anything writes into it.
            var pooled = ArrayPool<byte>.Shared.Rent(ReadSize);
            pooled.AsSpan().Fill((byte)'#');
            refused.TrySetResult();

            var body = new MemoryStream();
            var buffer = new byte[256];
            int n;
            while ((n = await env.Body.ReadAsync(buffer)) > 0)
            {
                body.Write(buffer, 0, n);
            }

            outcome.Append(pooled.AsSpan().ContainsAnyExcept((byte)'#') ? "pooled-array-written;" : "pooled-array-intact;");
            outcome.Append(Encoding.ASCII.GetString(body.ToArray()));
            return RackResponse.Text(200, outcome.ToString());
        }), o => o.LoopCount = 1);

        using var c = await ts.ConnectAsync();
        await c.SendAsync("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n");
        await refused.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await c.SendAsync("hello world");
        var response = await c.ReadResponseAsync();
        response.Status.Should().Be(200);
        response.BodyText.Should().Be("refused;pooled-array-intact;hello world");
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
    protected override TransportKind Transport => TransportKind.IoUring;

    [RequiresIoUringFact]
    public Task Refused_sync_read() => A_refused_sync_read_starts_no_read_and_the_body_is_still_there_for_ReadAsync();

    [RequiresIoUringFact]
    public Task Buffered_sync_read() => A_sync_read_of_buffered_bytes_succeeds_on_the_loop();
}

public sealed class SyncBodyReadOnLoopTestsOnEpoll : SyncBodyReadOnLoopTests
{
    protected override TransportKind Transport => TransportKind.Epoll;

    [Fact]
    public Task Refused_sync_read() => A_refused_sync_read_starts_no_read_and_the_body_is_still_there_for_ReadAsync();

    [Fact]
    public Task Buffered_sync_read() => A_sync_read_of_buffered_bytes_succeeds_on_the_loop();
}
