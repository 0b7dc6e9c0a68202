using System.Net;
using System.Security.Cryptography;
using Hyperion;
using Hyperion.Tests.Http2;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.StaticFiles;

/// <summary>
/// <c>RackResponse.File(status, headers, path, contentType, offset, length)</c>, a part of a file as the body, on every
/// transport: byte-exact over HTTP/1.1 (sendfile from the offset) and h2c (DATA frames), and a part that no longer fits
/// the file when it is opened gives 500 instead of a short body.
/// </summary>
public abstract class RangedFileResponseTests : TransportTests, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hyperion-ranged-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_part_of_a_file_arrives_byte_exact(bool h2)
    {
        var content = RandomNumberGenerator.GetBytes(2 * 1024 * 1024 + 3);
        var path = Path.Combine(_dir, "f.bin");
        await File.WriteAllBytesAsync(path, content);
        await using var ts = await StartAsync(s =>
        {
            s.UseHttp2();
            s.Handle("GET", "/part/{offset}/{length}", env => RackResponse.File(200, null, path, "application/x-part", env.RouteValues.GetInt64("offset"), env.RouteValues.GetInt64("length")));
            s.Handle("GET", "/text", _ => RackResponse.Text(200, "text"));
        });
        using var client = h2 ? H2cClient.Create(ts.BaseAddress) : ts.CreateHttpClient();
        long sent = 0;
        foreach (var (offset, length) in new[] { (0, 1), (1, 65_537), (1_000_000, 1_048_579), (content.Length - 1, 1), (content.Length, 0), (0, content.Length) })
        {
            var body = await client.GetByteArrayAsync($"/part/{offset}/{length}");
            body.Should().Equal(content.AsSpan(offset, length).ToArray(), $"{offset}+{length}");
            sent += length;
        }

        (await client.GetStringAsync("/text")).Should().Be("text");
        ts.Server.KernelFileBytes.Should().Be(h2 ? 0 : sent);
        (await client.GetAsync($"/part/{content.Length}/1")).StatusCode.Should().Be(HttpStatusCode.InternalServerError, "the part does not fit the file");
        (await client.GetStringAsync("/text")).Should().Be("text", "the refused part sent nothing that could shift the next response");
    }

    [Fact]
    public async Task A_range_of_a_file_that_shrinks_while_it_is_sent_cuts_the_connection()
    {
        const int MiB = 1024 * 1024;
        var path = Path.Combine(_dir, "big.bin");
        await File.WriteAllBytesAsync(path, RandomNumberGenerator.GetBytes(20 * MiB));
        await using var ts = await StartAsync(s => s.MapFiles("/files", _dir), o => o.LoopCount = 1);
        using var c = await RawConnection.ConnectAsync(ts.Port, receiveBufferSize: 8 * 1024);
        await c.SendAsync("GET /files/big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=1048576-\r\n\r\n");
        var head = await c.ReadHeadAsync();
        head.Status.Should().Be(206);
        head.Header("Content-Length").Should().Be((19 * MiB).ToString(System.Globalization.CultureInfo.InvariantCulture));

        // Cut the file just past the range's start: far less than the announced part is left to send.
        using (var truncate = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            truncate.SetLength(MiB + (64 * 1024));
        }

        var rest = await c.ReadUntilClosedAsync(TimeSpan.FromSeconds(30));
        rest.Length.Should().BeLessThan(19 * MiB, "the server closed the connection before the announced length");
        for (int i = 0; i < 200 && !ts.Logs.Lines.Any(Shrank); i++)
        {
            await Task.Delay(25); // the log line may trail the close by a moment
        }

        ts.Logs.Lines.Should().ContainSingle(l => Shrank(l), "the cut is reported once; logged: " + string.Join(" | ", ts.Logs.Lines.Select(l => $"{l.EventId.Name}: {l.Message} [{l.Exception?.GetType().Name}: {l.Exception?.Message}]")));
    }

    private static bool Shrank(CapturingLoggerProvider.LogLine line) => line.Exception?.Message.Contains("shrank", StringComparison.Ordinal) == true;

    [Fact]
    public void Negative_offsets_and_lengths_are_refused()
    {
        FluentActions.Invoking(() => RackResponse.File(200, null, "/x", "a/b", -1, 1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => RackResponse.File(200, null, "/x", "a/b", 0, -1)).Should().Throw<ArgumentOutOfRangeException>();
    }
}

public sealed class RangedFileResponseTestsOnIoUring : RangedFileResponseTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class RangedFileResponseTestsOnEpoll : RangedFileResponseTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}

public sealed class RangedFileResponseTestsOnSockets : RangedFileResponseTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}
