using System.Net;
using System.Net.Sockets;
using System.Text;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Native;

/// <summary>
/// What the completion loops (io_uring and epoll, both on <c>TransportLoop</c>) can get wrong and System.Net.Sockets
/// cannot: receive pausing under a slow reader, output back-pressure, descriptor lifetime. Run once per loop.
/// </summary>
public abstract class LoopTransportTests : TransportTests
{
    [Fact]
    public async Task A_slow_reader_of_a_large_body_pauses_receives_and_the_loop_survives()
    {
        // The app reads its body slowly, so the input pipe fills and receives pause; receives already in
        // flight must be buffered, not flushed into a pipe that has a flush pending (which throws).
        await using var ts = await StartAsync(
            s =>
            {
                s.HandleStatic("GET", "/", "ok");
                s.Handle("POST", "/slow", async env =>
                {
                    var buffer = new byte[16 * 1024];
                    long total = 0;
                    int n;
                    while ((n = await env.Body.ReadAsync(buffer)) > 0)
                    {
                        total += n;
                        await Task.Delay(1);
                    }

                    return RackResponse.Text(200, total.ToString(System.Globalization.CultureInfo.InvariantCulture));
                });
            },
            o => o.LoopCount = 1);
        using var client = ts.CreateHttpClient();
        client.Timeout = TimeSpan.FromSeconds(60);
        var body = new byte[8 * 1024 * 1024];
        using var response = await client.PostAsync("/slow", new ByteArrayContent(body));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).Should().Be(body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        ts.Logs.Lines.Should().NotContain(l => l.EventId.Name == "LoopFailed");
        (await client.GetStringAsync("/")).Should().Be("ok", "the loop still serves after the paused body");
    }

    [Fact]
    public async Task A_client_that_stops_reading_a_streamed_body_stalls_the_writer_until_it_reads_again()
    {
        // Back-pressure of the loop's output: flushes must stop completing while unsent bytes pile up,
        // so a client that does not read cannot make the server buffer the whole body.
        const int chunk = 64 * 1024;
        const int chunks = 1024; // 64 MiB, far more than the kernel's socket buffers on both sides
        long written = 0;
        await using var ts = await StartAsync(
            s =>
            {
                s.HandleStatic("GET", "/", "ok");
                s.Handle("GET", "/stream", _ => new ValueTask<RackResponse>(RackResponse.Streaming(
                    200,
                    [("Content-Length", (chunk * (long)chunks).ToString(System.Globalization.CultureInfo.InvariantCulture))],
                    async body =>
                    {
                        var data = new byte[chunk];
                        for (int i = 0; i < chunks; i++)
                        {
                            await body.WriteAsync(data);
                            await body.FlushAsync();
                            Interlocked.Add(ref written, chunk);
                        }
                    })));
            },
            o => o.LoopCount = 1);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 64 * 1024 };
        await socket.ConnectAsync(IPAddress.Loopback, ts.Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));

        // Wait (bounded) until the writer stops making progress.
        long last = -1;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(300);
            long now = Interlocked.Read(ref written);
            if (now == last)
            {
                break;
            }

            last = now;
        }

        Interlocked.Read(ref written).Should().BeLessThan(chunk * (long)chunks / 2, "the server must not buffer a body its client does not read");

        // Reading again resumes the writer; the whole body arrives and the connection stays usable.
        var buffer = new byte[256 * 1024];
        long received = 0;
        int headEnd = -1;
        var head = new List<byte>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (headEnd < 0 || received < chunk * (long)chunks)
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            n.Should().BeGreaterThan(0);
            if (headEnd < 0)
            {
                head.AddRange(buffer.AsSpan(0, n).ToArray());
                headEnd = Encoding.ASCII.GetString(head.ToArray()).IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (headEnd >= 0)
                {
                    Encoding.ASCII.GetString(head.ToArray()).Should().StartWith("HTTP/1.1 200 OK");
                    received = head.Count - (headEnd + 4);
                }
            }
            else
            {
                received += n;
            }
        }

        received.Should().Be(chunk * (long)chunks);
        await socket.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        int m = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
        Encoding.ASCII.GetString(buffer, 0, m).Should().StartWith("HTTP/1.1 200 OK").And.EndWith("ok");
    }

    [Fact]
    public async Task Ten_thousand_connections_opened_and_closed_leak_no_descriptors()
    {
        await using var ts = await StartAsync(s => s.HandleStatic("GET", "/", "ok"));
        ts.Server.ActiveTransport.Should().Be(Transport);
        var request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray();
        async Task OneAsync()
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await s.ConnectAsync(IPAddress.Loopback, ts.Port);
            await s.SendAsync(request);
            var buffer = new byte[512];
            int n = await s.ReceiveAsync(buffer);
            Encoding.ASCII.GetString(buffer, 0, n).Should().StartWith("HTTP/1.1 200");
        }

        await OneAsync();
        await Task.Delay(200);
        int before = OtherDescriptors();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        for (int batch = 0; batch < 100 && DateTime.UtcNow < deadline; batch++)
        {
            await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => OneAsync()));
        }

        // The server closes after the client does; give the loop a moment to reap the last batch.
        var settle = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (ts.Server.ConnectionCount > 0 && DateTime.UtcNow < settle)
        {
            await Task.Delay(50);
        }

        ts.Server.ConnectionCount.Should().Be(0);

        // Precise: no socket of the server's port is still held open (a leaked fd keeps its socket in
        // CLOSE_WAIT with a live inode). Coarse: descriptors that are not sockets (a per-connection
        // eventfd, timer or pipe) did not grow with the 10,000 connections. Sockets are left out of the
        // coarse count because tests running in parallel (this suite on the other loop among them) hold
        // hundreds at a time; they open few other descriptors, hence the small slack.
        OpenServerSockets(ts.Port).Should().BeEmpty();
        OtherDescriptors().Should().BeLessThanOrEqualTo(before + 50);
    }

    /// <summary>The process's open descriptors that are not sockets.</summary>
    private static int OtherDescriptors()
    {
        int count = 0;
        foreach (var fd in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target && !target.StartsWith("socket:", StringComparison.Ordinal))
                {
                    count++;
                }
            }
            catch (IOException)
            {
                // Closed between listing and reading: not open any more.
            }
        }

        return count;
    }

    /// <summary>Lines of /proc/net/tcp for sockets whose local port is <paramref name="port"/>, not listening, with an inode (an open fd).</summary>
    private static List<string> OpenServerSockets(int port)
    {
        string local = ":" + port.ToString("X4", System.Globalization.CultureInfo.InvariantCulture);
        return File.ReadLines("/proc/net/tcp").Skip(1)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f[1].EndsWith(local, StringComparison.Ordinal) && f[3] != "0A" && f[9] != "0")
            .Select(f => string.Join(' ', f))
            .ToList();
    }
}

public sealed class LoopTransportTestsOnIoUring : LoopTransportTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class LoopTransportTestsOnEpoll : LoopTransportTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
