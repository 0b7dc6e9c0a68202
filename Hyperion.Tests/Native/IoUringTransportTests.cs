using System.Net;
using System.Net.Sockets;
using System.Text;
using Hyperion;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Performance;

namespace Hyperion.Tests.Native;

/// <summary>What only the io_uring loop can get wrong: provided-buffer exhaustion, refusal (the loop-generic tests are in <see cref="LoopTransportTests"/>).</summary>
public class IoUringTransportTests
{
    private static Task<TestServer> StartAsync(Action<HyperionOptions>? options = null) => TestServer.StartAsync(
        s =>
        {
            s.HandleStatic("GET", "/", "ok");
            s.Handle("POST", "/echo", async env =>
            {
                var ms = new MemoryStream();
                await env.Body.CopyToAsync(ms);
                return RackResponse.Bytes(200, ms.ToArray());
            });
        },
        o =>
        {
            o.Transport = TransportKind.IoUring;
            options?.Invoke(o);
        });

    [RequiresIoUringFact]
    public async Task More_concurrent_senders_than_provided_buffers_all_get_answers()
    {
        // 16 provided buffers and 300 connections all sending at once run the ring dry (multishot
        // receives end with -ENOBUFS) and must be re-armed without losing a byte.
        await using var ts = await StartAsync(o =>
        {
            o.LoopCount = 1;
            o.IoUringBufferCount = 16;
        });
        long noBuffersBefore = Hyperion.Internal.Transport.IoUring.IoUringLoop.NoBufferEvents;
        var connections = new List<Socket>();
        try
        {
            for (int i = 0; i < 300; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await s.ConnectAsync(IPAddress.Loopback, ts.Port);
                connections.Add(s);
            }

            var body = new string('x', 3000);
            var request = Encoding.ASCII.GetBytes($"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {body.Length}\r\n\r\n{body}");
            foreach (var s in connections)
            {
                s.Send(request);
            }

            var reads = connections.Select(async s =>
            {
                var buffer = new byte[8192];
                int total = 0;
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                while (true)
                {
                    int n = await s.ReceiveAsync(buffer.AsMemory(total), SocketFlags.None, cts.Token);
                    n.Should().BeGreaterThan(0);
                    total += n;
                    var text = Encoding.ASCII.GetString(buffer, 0, total);
                    int head = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                    if (head > 0 && total - head - 4 >= body.Length)
                    {
                        return text;
                    }
                }
            });
            var responses = await Task.WhenAll(reads);
            responses.Should().OnlyContain(r => r.StartsWith("HTTP/1.1 200 OK", StringComparison.Ordinal) && r.EndsWith(body, StringComparison.Ordinal));
            Hyperion.Internal.Transport.IoUring.IoUringLoop.NoBufferEvents.Should().BeGreaterThan(noBuffersBefore, "the test must actually run the buffer ring dry");
        }
        finally
        {
            foreach (var s in connections)
            {
                s.Dispose();
            }
        }
    }
}

/// <summary>
/// Refusal is simulated for real: kernel.io_uring_disabled=2 makes io_uring_setup fail with EPERM, as a
/// container's seccomp profile would. The sysctl is global, so this runs alone and restores it.
/// </summary>
[Collection(nameof(AllocationCollection))]
public class IoUringFallbackTests
{
    private const string Sysctl = "/proc/sys/kernel/io_uring_disabled";

    public sealed class RequiresWritableSysctlFactAttribute : FactAttribute
    {
        public RequiresWritableSysctlFactAttribute()
        {
            if (!File.Exists(Sysctl) || Environment.UserName != "root")
            {
                Skip = $"needs root and {Sysctl} to simulate a kernel that refuses io_uring";
            }
            else if (!Hyperion.Native.IoUringSupport.IsSupported)
            {
                Skip = "io_uring is already unavailable here: " + Hyperion.Native.IoUringSupport.Reason;
            }
            else
            {
                try
                {
                    // Opening for write changes nothing; it tells a read-only /proc/sys (a container) apart.
                    using var probe = new FileStream(Sysctl, FileMode.Open, FileAccess.Write);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    Skip = $"{Sysctl} is not writable here ({ex.Message})";
                }
            }
        }
    }

    [RequiresWritableSysctlFact]
    public async Task Auto_falls_back_to_epoll_with_one_log_line_and_IoUring_refuses_to_start()
    {
        var original = (await File.ReadAllTextAsync(Sysctl)).Trim();
        try
        {
            await File.WriteAllTextAsync(Sysctl, "2");

            await using (var ts = await TestServer.StartAsync(s => s.HandleStatic("GET", "/", "ok"), o => o.Transport = TransportKind.Auto))
            {
                ts.Server.ActiveTransport.Should().Be(TransportKind.Epoll);
                ts.Logs.Lines.Where(l => l.EventId.Name == "Transport").Should().ContainSingle()
                    .Which.Message.Should().Contain("falling back to epoll").And.Contain("EPERM");
                using var c = await ts.ConnectAsync();
                await c.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
                (await c.ReadResponseAsync()).BodyText.Should().Be("ok");
            }

            var forced = new HyperionServer(new HyperionOptions { Port = 0, Transport = TransportKind.IoUring });
            var start = () => forced.StartAsync();
            (await start.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("EPERM");
        }
        finally
        {
            await File.WriteAllTextAsync(Sysctl, original);
        }
    }
}
