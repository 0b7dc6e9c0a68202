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
