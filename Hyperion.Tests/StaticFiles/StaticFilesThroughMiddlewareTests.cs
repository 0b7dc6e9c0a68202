using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using Hyperion;
using Hyperion.Http2;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.StaticFiles;

/// <summary>
/// MapFiles answers with a file it has already opened and checked; a middleware that wraps that body (compression)
/// must read that file, whole or ranged, over both protocols and every transport.
/// </summary>
public abstract class StaticFilesThroughMiddlewareTests : TransportTests, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("hyperion-static-mw-").FullName;
    private readonly string _css = string.Concat(Enumerable.Range(0, 400).Select(i => $".c{i} {{ color: red; }}\n"));

    protected StaticFilesThroughMiddlewareTests() => File.WriteAllText(Path.Combine(_root, "site.css"), _css);

    public static TheoryData<string> Versions => new() { "1.1", "2.0" };

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task A_compressible_file_is_compressed_whole_and_a_range_of_it_is_sent_as_is(string version)
    {
        await using var ts = await StartAsync(s =>
        {
            s.UseHttp2();
            s.Use(new ResponseCompression());
            s.MapFiles("/assets", _root);
        });
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            BaseAddress = ts.BaseAddress,
            DefaultRequestVersion = Version.Parse(version),
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        using var whole = new HttpRequestMessage(HttpMethod.Get, "/assets/site.css");
        whole.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        using var compressed = await client.SendAsync(whole);
        compressed.StatusCode.Should().Be(HttpStatusCode.OK);
        compressed.Content.Headers.ContentEncoding.Should().Equal("gzip");
        await using (var gunzip = new GZipStream(await compressed.Content.ReadAsStreamAsync(), CompressionMode.Decompress))
        using (var reader = new StreamReader(gunzip))
        {
            (await reader.ReadToEndAsync()).Should().Be(_css);
        }

        using var part = new HttpRequestMessage(HttpMethod.Get, "/assets/site.css");
        part.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        part.Headers.Range = new RangeHeaderValue(10, 29);
        using var ranged = await client.SendAsync(part);
        ranged.StatusCode.Should().Be(HttpStatusCode.PartialContent);
        ranged.Content.Headers.ContentEncoding.Should().BeEmpty("a range is never compressed");
        (await ranged.Content.ReadAsStringAsync()).Should().Be(_css.Substring(10, 20));
    }
}

public sealed class StaticFilesThroughMiddlewareTestsOnSockets : StaticFilesThroughMiddlewareTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class StaticFilesThroughMiddlewareTestsOnIoUring : StaticFilesThroughMiddlewareTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class StaticFilesThroughMiddlewareTestsOnEpoll : StaticFilesThroughMiddlewareTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
