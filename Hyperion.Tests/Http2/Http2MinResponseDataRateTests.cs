using System.Net;
using System.Net.Sockets;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Http2;

/// <summary>
/// <see cref="HyperionOptions.MinResponseDataRate"/> over h2c, the same rule as on HTTP/1.1: a client that opens its
/// flow-control windows wide and then never reads the socket is closed; another client on the server is served throughout.
/// </summary>
public abstract class Http2MinResponseDataRateTests : TransportTests
{
    private const int BigSize = 32 * 1024 * 1024;

    [Fact]
    public async Task A_client_that_never_reads_is_closed_and_a_normal_client_is_not()
    {
        var clock = new TestClock();
        var blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartAsync(
            s =>
            {
                s.UseHttp2();
                s.HandleStatic("GET", "/static", "ok");
                s.Handle("GET", "/stream", _ => RackResponse.Streaming(200, null, async w =>
                {
                    var chunk = new byte[64 * 1024];
                    for (int sent = 0; sent < BigSize; sent += chunk.Length)
                    {
                        var write = w.WriteAsync(chunk);
                        if (!write.IsCompleted)
                        {
                            blocked.TrySetResult(); // from here the write waits on the client
                        }

                        await write;
                        var flush = w.FlushAsync();
                        if (!flush.IsCompleted)
                        {
                            blocked.TrySetResult();
                        }

                        await flush;
                    }
                }));
            },
            o =>
            {
                o.TimeProvider = clock.Time;
                o.MinResponseDataRate = 1024 * 1024;
                o.MinResponseDataRateGracePeriod = TimeSpan.FromSeconds(5);
            });

        await using var normal = await H2RawClient.ConnectAsync(ts.Port);

        // RFC 9113 §6.9: the stuck client grants the largest windows, so only the socket holds the server back.
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 4096 };
        await socket.ConnectAsync(IPAddress.Loopback, ts.Port);
        await using var stuck = H2RawClient.Over(socket);
        await stuck.SendAsync(H2RawClient.Preface, H2.Frame(H2.Settings, 0, 0, H2.Setting(4, int.MaxValue)), H2.Frame(H2.WindowUpdate, 0, 0, H2.U32(int.MaxValue - 65535)));
        await stuck.SendHeadersAsync(1, true, H2.Get("/stream"));
        await blocked.Task.WaitAsync(TimeSpan.FromSeconds(30));

        int stream = 1;
        while (!ts.Logged("MinResponseDataRate"))
        {
            // Written before the clock moved: at most 32 MiB at 1 MiB/s after the 5 s grace.
            clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5 + 32 + 10), "the rule should have closed the stuck client by now");
            clock.Advance(TimeSpan.FromSeconds(1));
            await TestClock.SettlesAsync(() => ts.Logged("MinResponseDataRate"));
            await normal.SendHeadersAsync(stream, true, H2.Get());
            (await normal.ReadResponseAsync(stream)).Status.Should().Be(200);
            stream += 2;
        }

        clock.Elapsed.Should().BeGreaterThan(TimeSpan.FromSeconds(5), "every write has the grace period");
        (await stuck.ClosedAsync(TimeSpan.FromSeconds(10))).Should().BeTrue();
        await normal.SendHeadersAsync(stream, true, H2.Get());
        (await normal.ReadResponseAsync(stream)).Status.Should().Be(200);
        normal.Received.Should().NotContain(f => f.Type == H2.GoAway);
    }
}

public sealed class Http2MinResponseDataRateTestsOnSockets : Http2MinResponseDataRateTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class Http2MinResponseDataRateTestsOnIoUring : Http2MinResponseDataRateTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class Http2MinResponseDataRateTestsOnEpoll : Http2MinResponseDataRateTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
