using Hyperion;
using Hyperion.Internal.Transport.Loops;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Tls;

/// <summary>
/// On the loop transports a TLS connection's handshake, record decryption and handlers run on the thread pool,
/// never on the loop thread that serves every cleartext connection of the loop; cleartext routes stay inline.
/// </summary>
public abstract class TlsOffLoopTests : TransportTests
{
    private Task<TestServer> StartProbeAsync(bool tls) => StartAsync(
        s => s.Handle("GET", "/where", env => RackResponse.Text(200, TransportLoop.IsLoopThread ? "loop" : "pool")),
        o =>
        {
            if (tls)
            {
                o.UseTls(TestCertificate.Certificate);
            }
        });

    [Fact]
    public async Task A_synchronous_route_runs_on_the_loop_thread_over_cleartext()
    {
        await using var ts = await StartProbeAsync(tls: false);
        ts.Server.ActiveTransport.Should().Be(Transport);
        using var client = ts.CreateHttpClient();

        (await client.GetStringAsync("/where")).Should().Be("loop");
    }

    [Fact]
    public async Task The_same_route_over_tls_runs_off_the_loop_thread()
    {
        await using var ts = await StartProbeAsync(tls: true);
        ts.Server.ActiveTransport.Should().Be(Transport);
        using var client = TestCertificate.CreateHttpClient(ts.BaseAddress);

        for (int i = 0; i < 3; i++)
        {
            (await client.GetStringAsync("/where")).Should().Be("pool");
        }
    }
}

public sealed class TlsOffLoopTestsOnIoUring : TlsOffLoopTests
{
    // Without io_uring this runs on epoll: the sockets fallback has no loop thread to stay off.
    protected override TransportKind Transport => Hyperion.Native.IoUringSupport.IsSupported ? TransportKind.IoUring : TransportKind.Epoll;
}

public sealed class TlsOffLoopTestsOnEpoll : TlsOffLoopTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
