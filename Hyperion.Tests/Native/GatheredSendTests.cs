using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
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
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (slowReader)
        {
            // A small receive buffer and pauses make the kernel take only part of many gathered sends.
            socket.ReceiveBufferSize = 8 * 1024;
        }

        await socket.ConnectAsync(IPAddress.Loopback, ts.Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"));

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var received = new MemoryStream();
        var buffer = new byte[slowReader ? 3000 : 256 * 1024];
        int reads = 0;
        byte[] body;
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            n.Should().BeGreaterThan(0, "the server must not close before the whole body is sent");
            received.Write(buffer, 0, n);
            if (slowReader && ++reads % 64 == 0)
            {
                await Task.Delay(5, timeout.Token);
            }

            // The body cannot be complete before this many bytes arrived; decoding earlier would only repeat work.
            if (received.Length >= Large.Length && TryDecode(received.ToArray(), out body))
            {
                break;
            }
        }

        body.Length.Should().Be(Large.Length);
        SHA256.HashData(body).Should().Equal(SHA256.HashData(Large));
    }

    /// <summary>The body once complete: Content-Length framing for /large, chunked for /mixed.</summary>
    private static bool TryDecode(byte[] raw, out byte[] body)
    {
        body = [];
        int headEnd = raw.AsSpan().IndexOf("\r\n\r\n"u8);
        if (headEnd < 0)
        {
            return false;
        }

        string head = Encoding.ASCII.GetString(raw, 0, headEnd);
        int start = headEnd + 4;
        var match = System.Text.RegularExpressions.Regex.Match(head, @"(?im)^content-length:\s*(\d+)");
        if (match.Success)
        {
            int length = int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            if (raw.Length - start < length)
            {
                return false;
            }

            body = raw.AsSpan(start, length).ToArray();
            return true;
        }

        var decoded = new MemoryStream();
        int pos = start;
        while (true)
        {
            int lineEnd = raw.AsSpan(pos).IndexOf("\r\n"u8);
            if (lineEnd < 0)
            {
                return false;
            }

            int size = Convert.ToInt32(Encoding.ASCII.GetString(raw, pos, lineEnd).Split(';')[0], 16);
            pos += lineEnd + 2;
            if (size == 0)
            {
                // Last chunk: complete once the trailer section's empty line is here.
                if (raw.AsSpan(pos).IndexOf("\r\n"u8) < 0)
                {
                    return false;
                }

                body = decoded.ToArray();
                return true;
            }

            if (raw.Length - pos < size + 2)
            {
                return false;
            }

            decoded.Write(raw, pos, size);
            pos += size + 2;
        }
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
