using System.Security.Cryptography;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Http2;

/// <summary>
/// HTTP/2 file bodies go out as DATA frames (no sendfile), but like HTTP/1.1 the announced content-length is the size
/// of the file as opened: the client holds the flow-control window shut, the file changes, and the stream still ends
/// at exactly that length, or is reset when the file shrank below it.
/// </summary>
public abstract class Http2FileBodyTests : TransportTests, IDisposable
{
    private const int Size = 4 * 1024 * 1024;

    private readonly string _dir = Directory.CreateTempSubdirectory("hyperion-h2-files-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<(TestServer Server, H2RawClient Client, string Path, byte[] Content)> StartStalledDownloadAsync()
    {
        var content = RandomNumberGenerator.GetBytes(Size);
        var path = Path.Combine(_dir, "f.bin");
        await File.WriteAllBytesAsync(path, content);
        var ts = await StartAsync(s =>
        {
            s.UseHttp2();
            s.Handle("GET", "/file", _ => RackResponse.File(200, null, path));
        });
        var client = await H2RawClient.ConnectAsync(ts.Port);
        await client.SendHeadersAsync(1, endStream: true, H2.Get("/file"));

        // The head names the length; with the default 64 KiB windows the server then waits for WINDOW_UPDATE.
        var headers = await client.ExpectAsync(f => f.Type == H2.Headers && f.StreamId == 1, "HEADERS");
        headers.Fields!.Should().Contain(("content-length", Size.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return (ts, client, path, content);
    }

    [Fact]
    public async Task A_file_that_grows_after_the_headers_ends_at_its_announced_length()
    {
        var (ts, client, path, content) = await StartStalledDownloadAsync();
        await using var server = ts;
        await using var c = client;
        await using (var append = new FileStream(path, FileMode.Append))
        {
            await append.WriteAsync(RandomNumberGenerator.GetBytes(1024 * 1024));
        }

        var response = await c.ReadResponseAsync(1);
        response.Body.Length.Should().Be(Size);
        SHA256.HashData(response.Body).Should().Equal(SHA256.HashData(content));
    }

    [Fact]
    public async Task A_file_that_shrinks_after_the_headers_resets_the_stream_instead_of_ending_it_short()
    {
        var (ts, client, path, _) = await StartStalledDownloadAsync();
        await using var server = ts;
        await using var c = client;
        using (var truncate = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            truncate.SetLength(200 * 1024);
        }

        // Open both windows wide: the server reads on, finds the end of the file early, and must not send END_STREAM.
        await c.SendAsync(H2.Frame(H2.WindowUpdate, 0, 0, H2.U32(16 * 1024 * 1024)), H2.Frame(H2.WindowUpdate, 0, 1, H2.U32(16 * 1024 * 1024)));
        var rst = await c.ExpectRstAsync(1);
        rst.Type.Should().Be(H2.RstStream);
        c.Received.Should().NotContain(f => f.StreamId == 1 && f.Type == H2.Data && f.Has(H2.EndStream));
        c.Received.Where(f => f.StreamId == 1 && f.Type == H2.Data).Sum(f => f.Length).Should().BeLessThan(Size);
    }
}

public sealed class Http2FileBodyTestsOnIoUring : Http2FileBodyTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class Http2FileBodyTestsOnEpoll : Http2FileBodyTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}

public sealed class Http2FileBodyTestsOnSockets : Http2FileBodyTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}
