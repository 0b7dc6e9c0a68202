using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Hyperion;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Native;

namespace Hyperion.Tests.Http1;

/// <summary>
/// File bodies over HTTP/1.1 on every transport: the loop transports send them with sendfile(2) from the loop thread
/// (a segment of the output queue), the sockets transport with SendPacketsAsync. The file is opened once and the
/// announced length is its size at that moment: a file that grows is cut there, one that shrinks cuts the connection,
/// one replaced by path is still sent from the old contents. The descriptor is always closed.
/// </summary>
public abstract class FileBodyTests : TransportTests, IDisposable
{
    private const int MiB = 1024 * 1024;

    private readonly string _dir = Directory.CreateTempSubdirectory("hyperion-files-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string CreateFile(string name, int size, out byte[] content)
    {
        content = RandomNumberGenerator.GetBytes(size);
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    /// <summary>One loop, so a blocked loop would also block the other clients of a test.</summary>
    private Task<TestServer> StartFileServerAsync(string path, Action<HyperionServer>? more = null) => StartAsync(
        s =>
        {
            s.Handle("GET", "/file", _ => RackResponse.File(200, null, path));
            s.Handle("HEAD", "/file", _ => RackResponse.File(200, null, path));
            s.Handle("GET", "/missing", _ => RackResponse.File(200, null, path + ".missing"));
            s.Handle("GET", "/text", _ => RackResponse.Text(200, "text"));
            more?.Invoke(s);
        },
        o => o.LoopCount = 1);

    /// <summary>Descriptors of this process open on <paramref name="path"/> (other tests running in parallel do not count).</summary>
    private static int OpenDescriptors(string path)
    {
        int count = 0;
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith(path, StringComparison.Ordinal))
                {
                    count++;
                }
            }
            catch (IOException)
            {
                // Closed while listing.
            }
        }

        return count;
    }

    private static async Task WaitForNoDescriptorsAsync(string path)
    {
        // A reset or stop is handled asynchronously by the server: wait for it, bounded.
        for (int i = 0; i < 200 && OpenDescriptors(path) > 0; i++)
        {
            await Task.Delay(25);
        }

        OpenDescriptors(path).Should().Be(0, "every file descriptor the server opened is closed");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(MiB)]
    [InlineData(20 * MiB)]
    public async Task A_file_arrives_byte_for_byte_through_HttpClient_and_the_kernel_sends_it(int size)
    {
        var path = CreateFile("f.bin", size, out var content);
        await using var ts = await StartFileServerAsync(path);
        ts.Server.ActiveTransport.Should().Be(Transport);
        using var client = ts.CreateHttpClient();

        for (int i = 0; i < 2; i++)
        {
            using var response = await client.GetAsync("/file");
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            response.Content.Headers.ContentLength.Should().Be(size);
            var body = await response.Content.ReadAsByteArrayAsync();
            body.Length.Should().Be(size);
            SHA256.HashData(body).Should().Equal(SHA256.HashData(content));
        }

        // The next request on the connection is read only after the file body was handed to the kernel.
        (await client.GetStringAsync("/text")).Should().Be("text", "the keep-alive connection is still in sync");

        // Every body byte went out through sendfile, none through user memory.
        ts.Server.KernelFileBytes.Should().Be(2L * size);

        // The in-process client has no socket: the same route takes the copy path.
        using var inProcess = ts.Server.CreateClient();
        SHA256.HashData(await inProcess.GetByteArrayAsync("/file")).Should().Equal(SHA256.HashData(content));
        ts.Server.KernelFileBytes.Should().Be(2L * size);
        await WaitForNoDescriptorsAsync(path);
    }

    [RequiresToolFact("curl")]
    public async Task Curl_downloads_the_file_twice_over_one_keep_alive_connection()
    {
        var path = CreateFile("f.bin", MiB + 7, out var content);
        await using var ts = await StartFileServerAsync(path);
        var url = new Uri(ts.BaseAddress, "/file").ToString();
        var out1 = Path.Combine(_dir, "out1");
        var out2 = Path.Combine(_dir, "out2");

        var (code, output, err) = await ToolProcess.RunAsync("curl", "-sS", "--fail", "-w", "%{num_connects} %{size_download}\n", "-o", out1, url, "-o", out2, url);

        code.Should().Be(0, err);
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().Equal($"1 {content.Length}", $"0 {content.Length}");
        File.ReadAllBytes(out1).Should().Equal(content);
        File.ReadAllBytes(out2).Should().Equal(content);
    }

    [Fact]
    public async Task Pipelined_file_responses_come_back_in_order()
    {
        var big = CreateFile("big.bin", MiB + 3, out var bigContent);
        var small = CreateFile("small.bin", 1, out var smallContent);
        await using var ts = await StartFileServerAsync(big, s => s.Handle("GET", "/small", _ => RackResponse.File(200, null, small)));
        using var c = await ts.ConnectAsync();

        await c.SendAsync(
            "GET /small HTTP/1.1\r\nHost: x\r\n\r\n" +
            "GET /file HTTP/1.1\r\nHost: x\r\n\r\n" +
            "GET /text HTTP/1.1\r\nHost: x\r\n\r\n" +
            "HEAD /file HTTP/1.1\r\nHost: x\r\n\r\n" +
            "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n" +
            "GET /file HTTP/1.1\r\nHost: x\r\n\r\n" +
            "GET /small HTTP/1.1\r\nHost: x\r\n\r\n" +
            "GET /text HTTP/1.1\r\nHost: x\r\n\r\n");

        (await c.ReadResponseAsync()).Body.Should().Equal(smallContent);
        (await c.ReadResponseAsync()).Body.Should().Equal(bigContent);
        (await c.ReadResponseAsync()).BodyText.Should().Be("text");
        var head = await c.ReadResponseAsync(head: true);
        head.Header("Content-Length").Should().Be(bigContent.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        (await c.ReadResponseAsync()).Status.Should().Be(404);
        (await c.ReadResponseAsync()).Body.Should().Equal(bigContent);
        (await c.ReadResponseAsync()).Body.Should().Equal(smallContent);
        (await c.ReadResponseAsync()).BodyText.Should().Be("text");
        ts.Server.KernelFileBytes.Should().Be((2L * bigContent.Length) + 2);
        await WaitForNoDescriptorsAsync(_dir);
    }

    [Fact]
    public async Task A_client_that_stops_reading_holds_up_only_itself_and_then_gets_every_byte()
    {
        var path = CreateFile("f.bin", 20 * MiB, out var content);
        await using var ts = await StartFileServerAsync(path);
        using var slow = await RawConnection.ConnectAsync(ts.Port, receiveBufferSize: 8 * 1024);
        await slow.SendAsync("GET /file HTTP/1.1\r\nHost: x\r\n\r\n");
        (await slow.ReadHeadAsync()).Header("Content-Length").Should().Be(content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));

        // The slow client reads nothing now: its socket buffer fills and sendfile returns EAGAIN. The one loop must
        // go on serving everyone else, files included.
        using var client = ts.CreateHttpClient();
        for (int i = 0; i < 10; i++)
        {
            (await client.GetStringAsync("/text")).Should().Be("text");
        }

        using (var other = await ts.ConnectAsync())
        {
            await other.SendAsync("GET /file HTTP/1.1\r\nHost: x\r\n\r\n");
            (await other.ReadResponseAsync(timeout: TimeSpan.FromSeconds(30))).Body.Length.Should().Be(content.Length);
        }

        ts.Server.KernelFileBytes.Should().BeLessThan(2L * content.Length, "the slow client's file is not fully sent yet");

        // Now read slowly to the end: every partial sendfile resumed at the right offset.
        slow.ReadSlowly(64 * 1024, pauseEveryReads: 32, TimeSpan.FromMilliseconds(1));
        var body = await slow.ReadBytesAsync(content.Length, TimeSpan.FromSeconds(60));
        SHA256.HashData(body).Should().Equal(SHA256.HashData(content));
        await slow.SendAsync("GET /text HTTP/1.1\r\nHost: x\r\n\r\n");
        (await slow.ReadResponseAsync()).BodyText.Should().Be("text");
        ts.Server.KernelFileBytes.Should().Be(2L * content.Length);
    }

    [Fact]
    public async Task A_file_that_grows_after_opening_is_sent_at_its_announced_length()
    {
        var path = CreateFile("f.bin", 8 * MiB, out var content);
        await using var ts = await StartFileServerAsync(path);
        using var c = await RawConnection.ConnectAsync(ts.Port, receiveBufferSize: 8 * 1024);
        await c.SendAsync("GET /file HTTP/1.1\r\nHost: x\r\n\r\nGET /text HTTP/1.1\r\nHost: x\r\n\r\n");
        (await c.ReadHeadAsync()).Header("Content-Length").Should().Be(content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));

        // The head is out, so the file was opened and its length taken; the rest is still to send.
        await using (var append = new FileStream(path, FileMode.Append))
        {
            await append.WriteAsync(RandomNumberGenerator.GetBytes(MiB));
        }

        var body = await c.ReadBytesAsync(content.Length, TimeSpan.FromSeconds(30));
        SHA256.HashData(body).Should().Equal(SHA256.HashData(content));
        (await c.ReadResponseAsync()).BodyText.Should().Be("text", "the bytes appended later were not sent: framing holds");
    }

    [Fact]
    public async Task A_file_replaced_by_path_after_opening_is_sent_from_the_opened_file()
    {
        var path = CreateFile("f.bin", 8 * MiB, out var content);
        await using var ts = await StartFileServerAsync(path);
        using var c = await RawConnection.ConnectAsync(ts.Port, receiveBufferSize: 8 * 1024);
        await c.SendAsync("GET /file HTTP/1.1\r\nHost: x\r\n\r\nGET /text HTTP/1.1\r\nHost: x\r\n\r\n");
        await c.ReadHeadAsync();

        var replacement = Path.Combine(_dir, "replacement.bin");
        File.WriteAllBytes(replacement, RandomNumberGenerator.GetBytes(MiB));
        File.Move(replacement, path, overwrite: true);

        var body = await c.ReadBytesAsync(content.Length, TimeSpan.FromSeconds(30));
        SHA256.HashData(body).Should().Equal(SHA256.HashData(content));
        (await c.ReadResponseAsync()).BodyText.Should().Be("text");
    }

    [Fact]
    public async Task A_file_that_shrinks_after_opening_cuts_the_connection_instead_of_a_short_body()
    {
        var path = CreateFile("f.bin", 20 * MiB, out var content);
        await using var ts = await StartFileServerAsync(path);
        using var c = await RawConnection.ConnectAsync(ts.Port, receiveBufferSize: 8 * 1024);
        await c.SendAsync("GET /file HTTP/1.1\r\nHost: x\r\n\r\nGET /text HTTP/1.1\r\nHost: x\r\n\r\n");
        (await c.ReadHeadAsync()).Header("Content-Length").Should().Be(content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));

        // At most the socket buffers (a few MiB) are sent yet; cut the file below what is already out.
        using (var truncate = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            truncate.SetLength(64 * 1024);
        }

        var rest = await c.ReadUntilClosedAsync(TimeSpan.FromSeconds(30));
        rest.Length.Should().BeLessThan(content.Length, "the server closed the connection before the announced length");
        for (int i = 0; i < 200 && !ts.Logs.Lines.Any(l => Shrank(l)); i++)
        {
            await Task.Delay(25); // the log line may trail the close by a moment
        }

        ts.Logs.Lines.Should().ContainSingle(l => Shrank(l));
        await WaitForNoDescriptorsAsync(path);
    }

    private static bool Shrank(CapturingLoggerProvider.LogLine line) => line.Exception?.Message.Contains("shrank", StringComparison.Ordinal) == true;

    [Fact]
    public async Task No_file_descriptor_outlives_its_response_on_completion_head_missing_reset_or_stop()
    {
        var path = CreateFile("f.bin", 20 * MiB, out var content);
        var ts = await StartFileServerAsync(path);
        try
        {
            using (var client = ts.CreateHttpClient())
            {
                for (int i = 0; i < 3; i++)
                {
                    (await client.GetByteArrayAsync("/file")).Length.Should().Be(content.Length);
                }

                using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/file"));
                head.Content.Headers.ContentLength.Should().Be(content.Length);
                (await client.GetAsync("/missing")).StatusCode.Should().Be(HttpStatusCode.NotFound);
            }

            await WaitForNoDescriptorsAsync(path);

            // A client that resets in the middle of the file (SO_LINGER 0, then close).
            for (int i = 0; i < 5; i++)
            {
                using var reset = await RawConnection.ConnectAsync(ts.Port, receiveBufferSize: 8 * 1024);
                await reset.SendAsync("GET /file HTTP/1.1\r\nHost: x\r\n\r\n");
                await reset.ReadHeadAsync();
                reset.Socket.LingerState = new LingerOption(true, 0);
                reset.Socket.Close();
                await WaitForNoDescriptorsAsync(path);
            }

            // Clients stalled mid-file while the server stops.
            using var stalled1 = await RawConnection.ConnectAsync(ts.Port, receiveBufferSize: 8 * 1024);
            using var stalled2 = await RawConnection.ConnectAsync(ts.Port, receiveBufferSize: 8 * 1024);
            await stalled1.SendAsync("GET /file HTTP/1.1\r\nHost: x\r\n\r\n");
            await stalled2.SendAsync("GET /file HTTP/1.1\r\nHost: x\r\n\r\n");
            await stalled1.ReadHeadAsync();
            await stalled2.ReadHeadAsync();
            OpenDescriptors(path).Should().Be(2, "each stalled response holds its file open");
            await ts.Server.StopAsync(TimeSpan.Zero);
            await WaitForNoDescriptorsAsync(path);
        }
        finally
        {
            await ts.DisposeAsync();
        }
    }
}

public sealed class FileBodyTestsOnIoUring : FileBodyTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class FileBodyTestsOnEpoll : FileBodyTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}

public sealed class FileBodyTestsOnSockets : FileBodyTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}
