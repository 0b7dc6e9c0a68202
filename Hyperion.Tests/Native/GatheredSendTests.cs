using System.Security.Cryptography;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Native;

/// <summary>
/// The loop transports send up to 16 queued blocks with one sendmsg. Every byte must arrive once and in order,
/// also when the kernel takes only part of a gathered send (a slow reader fills the socket buffer) and when
/// small writes are copied into a block that is already queued.
/// </summary>
public abstract class GatheredSendTests : TransportTests
{
    private static readonly byte[] Large = RandomNumberGenerator.GetBytes((5 * 1024 * 1024) + 123);

    private Task<TestServer> StartGatherServerAsync() => StartAsync(s =>
    {
        s.Handle("GET", "/large", env => RackResponse.Bytes(200, Large));
        s.Handle("GET", "/mixed", env => RackResponse.Streaming(200, null, async w =>
        {
            // Sizes from 1 byte to several blocks, flushed at odd points, so queued blocks are partly full and
            // later small writes are appended to a block while an earlier part of it is in flight.
            int offset = 0;
            for (int i = 0; offset < Large.Length; i++)
            {
                int size = Math.Min(Large.Length - offset, (i % 7) switch { 0 => 1, 1 => 100, 2 => 4096, 3 => 4097, 4 => 20_000, 5 => 3, _ => 65_537 });
                await w.WriteAsync(Large.AsMemory(offset, size));
                offset += size;
                if (i % 3 == 0)
                {
                    await w.FlushAsync();
                }
            }
        }));
    });

    [Theory]
    [InlineData("/large", false)]
    [InlineData("/large", true)]
    [InlineData("/mixed", false)]
    [InlineData("/mixed", true)]
    public async Task A_multi_megabyte_response_arrives_byte_for_byte(string path, bool slowReader)
    {
        await using var ts = await StartGatherServerAsync();
        ts.Server.ActiveTransport.Should().Be(Transport);

        // A small receive buffer and pauses make the kernel take only part of many gathered sends.
        using var c = slowReader
            ? (await RawConnection.ConnectAsync(ts.Port, receiveBufferSize: 8 * 1024)).ReadSlowly(3000, pauseEveryReads: 64, TimeSpan.FromMilliseconds(5))
            : await RawConnection.ConnectAsync(ts.Port);
        await c.SendAsync($"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");

        // ReadResponseAsync fails if the server closes before the whole body (Content-Length or chunked) arrived.
        var body = (await c.ReadResponseAsync(timeout: TimeSpan.FromSeconds(60))).Body;

        body.Length.Should().Be(Large.Length);
        SHA256.HashData(body).Should().Equal(SHA256.HashData(Large));
    }
}

public sealed class GatheredSendTestsOnIoUring : GatheredSendTests
{
    protected override TransportKind Transport => Hyperion.Native.IoUringSupport.IsSupported ? TransportKind.IoUring : TransportKind.Epoll;
}

public sealed class GatheredSendTestsOnEpoll : GatheredSendTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
