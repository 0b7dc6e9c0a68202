using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using Hyperion;
using Hyperion.Http2;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Native;

namespace Hyperion.Tests.Compression;

/// <summary>The compression middleware from outside, over HTTP/1.1 and h2c, on every transport.</summary>
public abstract class ResponseCompressionTests : TransportTests
{
    public static readonly string Json = "[" + string.Join(",", Enumerable.Range(0, 200).Select(i => $"{{\"id\":{i},\"title\":\"todo number {i}\",\"done\":false}}")) + "]";

    public static TheoryData<string, string> VersionsAndCodings => new()
    {
        { "1.1", "gzip" }, { "1.1", "br" }, { "2.0", "gzip" }, { "2.0", "br" },
    };

    public static TheoryData<string> Versions => new() { "1.1", "2.0" };


    private static async Task<HttpResponseMessage> GetAsync(HttpClient client, string path, string? acceptEncoding, HttpMethod? method = null, Action<HttpRequestMessage>? configure = null)
    {
        var request = new HttpRequestMessage(method ?? HttpMethod.Get, path);
        if (acceptEncoding is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
        }

        configure?.Invoke(request);
        return await client.SendAsync(request);
    }

    private Task<TestServer> StartWithAsync(Action<HyperionServer> routes, ResponseCompressionOptions? options = null) => StartAsync(s =>
    {
        s.UseHttp2();
        s.Use(options is null ? new ResponseCompression() : new ResponseCompression(options));
        routes(s);
    });

    [Theory]
    [MemberData(nameof(VersionsAndCodings))]
    public async Task A_buffered_body_is_compressed_with_the_accepted_coding_and_decodes_to_the_original(string version, string coding)
    {
        await using var ts = await StartWithAsync(s =>
        {
            s.Handle("GET", "/text", env => RackResponse.Text(200, Json, "application/json"));
            s.Handle("GET", "/bytes", env => new RackResponse(200, [("Content-Type", "text/plain"), ("ETag", "\"v1\"")], Encoding.UTF8.GetBytes(Json)));
        });
        using var client = ts.CreateHttpClient(version);
        foreach (var path in new[] { "/text", "/bytes" })
        {
            using var response = await GetAsync(client, path, coding);
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            response.Content.Headers.ContentEncoding.Should().Equal(coding);
            response.Headers.Vary.Should().Equal("Accept-Encoding");
            var raw = await response.Content.ReadAsByteArrayAsync();
            response.Content.Headers.ContentLength.Should().Be(raw.Length, "the server frames the compressed body");
            raw.Length.Should().BeLessThan(Json.Length / 3);
            Encoding.UTF8.GetString(CompressionCoreTests.Decode(coding, raw)).Should().Be(Json);
            if (path == "/bytes")
            {
                response.Headers.ETag!.ToString().Should().Be("W/\"v1\"", "the encoded bytes differ from the identity ones; a weak tag still revalidates");
            }
        }
    }

    [Theory]
    [InlineData("1.1", "gzip, deflate, br", "br")]
    [InlineData("1.1", "br;q=0.2, gzip;q=0.8", "gzip")]
    [InlineData("2.0", "*", "br")]
    [InlineData("2.0", "br;q=0, *;q=0.5", "gzip")]
    [InlineData("1.1", "gzip;q=0, br;q=0", null)]
    [InlineData("2.0", "identity", null)]
    [InlineData("1.1", null, null)]
    public async Task Q_values_and_the_server_order_choose_and_vary_is_sent_even_when_nothing_was_accepted(string version, string? acceptEncoding, string? expected)
    {
        await using var ts = await StartWithAsync(s => s.Handle("GET", "/", env => RackResponse.Text(200, Json)));
        using var client = ts.CreateHttpClient(version);
        using var response = await GetAsync(client, "/", acceptEncoding);
        var raw = await response.Content.ReadAsByteArrayAsync();
        response.Headers.Vary.Should().Equal("Accept-Encoding");
        if (expected is null)
        {
            response.Content.Headers.ContentEncoding.Should().BeEmpty();
            Encoding.UTF8.GetString(raw).Should().Be(Json);
        }
        else
        {
            response.Content.Headers.ContentEncoding.Should().Equal(expected);
            Encoding.UTF8.GetString(CompressionCoreTests.Decode(expected, raw)).Should().Be(Json);
        }
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Responses_that_must_not_be_compressed_pass_through_unchanged(string version)
    {
        var png = Enumerable.Repeat((byte)7, 4000).ToArray();
        await using var ts = await StartWithAsync(s =>
        {
            s.Handle("GET", "/json", env => RackResponse.Text(200, Json, "application/json"));
            s.Handle("GET", "/small", env => RackResponse.Text(200, "short", "text/plain"));
            s.Handle("GET", "/png", env => RackResponse.Bytes(200, png, "image/png"));
            s.Handle("GET", "/encoded", env => new RackResponse(200, [("Content-Type", "text/plain"), ("Content-Encoding", "gzip")], Encoding.UTF8.GetBytes(Json)));
            s.Handle("GET", "/no-transform", env => new RackResponse(200, [("Content-Type", "text/plain"), ("Cache-Control", "public, no-transform")], Json));
            s.Handle("GET", "/partial", env => new RackResponse(206, [("Content-Type", "text/plain"), ("Content-Range", $"bytes 0-{Json.Length - 1}/99999")], Json));
            s.Handle("GET", "/none", env => RackResponse.Empty(204, [("Content-Type", "text/plain")]));
            s.Handle("GET", "/same", env => RackResponse.Empty(304, [("Content-Type", "text/plain")]));
        });
        using var client = ts.CreateHttpClient(version);

        // (path, method, extra request header, Vary expected: could vary by Accept-Encoding for another request)
        var cases = new (string Path, HttpMethod Method, (string, string)? Header, bool Vary)[]
        {
            ("/json", HttpMethod.Head, null, false),
            ("/json", HttpMethod.Get, ("Range", "bytes=0-10"), false),
            ("/small", HttpMethod.Get, null, false),
            ("/png", HttpMethod.Get, null, false),
            ("/encoded", HttpMethod.Get, null, false),
            ("/no-transform", HttpMethod.Get, null, false),
            ("/partial", HttpMethod.Get, null, false),
            ("/none", HttpMethod.Get, null, false),
            ("/same", HttpMethod.Get, null, false),
        };
        foreach (var (path, method, header, vary) in cases)
        {
            using var response = await GetAsync(client, path, "gzip, br", method, r =>
            {
                if (header is var (name, value))
                {
                    r.Headers.TryAddWithoutValidation(name, value);
                }
            });
            var raw = await response.Content.ReadAsByteArrayAsync();
            var because = $"{method} {path} {header}";
            response.Headers.Vary.Should().HaveCount(vary ? 1 : 0, because);
            if (path == "/encoded")
            {
                response.Content.Headers.ContentEncoding.Should().Equal(["gzip"], "the app's own coding is kept, not doubled");
                raw.Should().Equal(Encoding.UTF8.GetBytes(Json));
                continue;
            }

            response.Content.Headers.ContentEncoding.Should().BeEmpty(because);
            if (method == HttpMethod.Get && path is "/json" or "/no-transform" or "/partial")
            {
                Encoding.UTF8.GetString(raw).Should().Be(Json, because);
            }
        }
    }

    [Theory]
    [MemberData(nameof(VersionsAndCodings))]
    public async Task Each_flush_of_a_streaming_body_reaches_the_client_compressed_before_more_is_written(string version, string coding)
    {
        var decodedFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        const string First = "data: first event, which the client must see before the server goes on\n\n";
        var rest = string.Concat(Enumerable.Range(0, 300).Select(i => $"data: event {i}\n\n"));
        await using var ts = await StartWithAsync(s => s.Handle("GET", "/events", env => RackResponse.Streaming(200, [("Content-Type", "text/event-stream")], async w =>
        {
            await w.WriteAsync(First);
            await w.FlushAsync();

            // Writes nothing more until the client has decoded the first part: only a flush that went
            // through the encoder to the socket lets this test finish.
            await decodedFirst.Task.WaitAsync(TimeSpan.FromSeconds(5));
            await w.WriteAsync(rest);
        })),
        // Optimal: Brotli's quality 1 happens to emit decodable blocks without a flush, quality 4 buffers like gzip does.
        new ResponseCompressionOptions { Level = CompressionLevel.Optimal });
        using var client = ts.CreateHttpClient(version);
        var request = new HttpRequestMessage(HttpMethod.Get, "/events");
        request.Headers.TryAddWithoutValidation("Accept-Encoding", coding);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.Content.Headers.ContentEncoding.Should().Equal(coding);
        response.Content.Headers.ContentLength.Should().BeNull();
        await using var wire = await response.Content.ReadAsStreamAsync();
        await using Stream decoder = coding == "gzip" ? new GZipStream(wire, CompressionMode.Decompress) : new BrotliStream(wire, CompressionMode.Decompress);
        var first = new byte[First.Length];
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            await decoder.ReadExactlyAsync(first, cts.Token);
        }

        Encoding.UTF8.GetString(first).Should().Be(First);
        decodedFirst.SetResult();
        using var remainder = new MemoryStream();
        await decoder.CopyToAsync(remainder);
        Encoding.UTF8.GetString(remainder.ToArray()).Should().Be(rest);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Async_chunks_chunks_and_files_are_compressed_as_they_flow(string version)
    {
        var path = Path.Combine(Path.GetTempPath(), $"hyperion-compress-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(path, Json);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            await using var ts = await StartWithAsync(s =>
            {
                s.Handle("GET", "/async", env => RackResponse.AsyncChunks(200, [("Content-Type", "text/plain")], Chunks(gate.Task)));
                s.Handle("GET", "/chunks", env => RackResponse.Chunks(200, [("Content-Type", "application/json")], [Encoding.UTF8.GetBytes(Json[..100]), Encoding.UTF8.GetBytes(Json[100..])]));
                s.Handle("GET", "/file", env => RackResponse.File(200, null, path, "text/plain"));
            });
            using var client = ts.CreateHttpClient(version);

            // Async chunks: the first chunk is flushed through gzip before the second exists.
            var request = new HttpRequestMessage(HttpMethod.Get, "/async");
            request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");
            using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
            {
                await using var decoder = new GZipStream(await response.Content.ReadAsStreamAsync(), CompressionMode.Decompress);
                var first = new byte[5];
                using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
                {
                    await decoder.ReadExactlyAsync(first, cts.Token);
                }

                Encoding.ASCII.GetString(first).Should().Be("first");
                gate.SetResult();
                using var rest = new MemoryStream();
                await decoder.CopyToAsync(rest);
                Encoding.ASCII.GetString(rest.ToArray()).Should().Be("second");
            }

            foreach (var p in new[] { "/chunks", "/file" })
            {
                using var response = await GetAsync(client, p, "br");
                response.Content.Headers.ContentEncoding.Should().Equal("br");
                Encoding.UTF8.GetString(CompressionCoreTests.Decode("br", await response.Content.ReadAsByteArrayAsync())).Should().Be(Json, p);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [MemberData(nameof(VersionsAndCodings))]
    public async Task A_large_poorly_compressible_streamed_body_arrives_whole(string version, string coding)
    {
        // Hex of random bytes: compresses only about 2:1, so one 1 MiB write is encoded and sent in many pieces.
        var text = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(512 * 1024));
        await using var ts = await StartWithAsync(s => s.Handle("GET", "/big", env => RackResponse.Streaming(200, [("Content-Type", "text/plain"), ("Content-Length", text.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))], async w =>
        {
            await w.WriteAsync(Encoding.ASCII.GetBytes(text));
            await w.WriteAsync("!");
        })));
        using var client = ts.CreateHttpClient(version);
        using var response = await GetAsync(client, "/big", coding);
        response.Content.Headers.ContentEncoding.Should().Equal(coding);
        response.Content.Headers.ContentLength.Should().NotBe(text.Length, "the declared identity length was dropped");
        Encoding.ASCII.GetString(CompressionCoreTests.Decode(coding, await response.Content.ReadAsByteArrayAsync())).Should().Be(text + "!");
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Options_change_the_types_the_size_and_the_order(string version)
    {
        var options = new ResponseCompressionOptions { MinimumSize = 10 };
        options.Encodings.Clear();
        options.Encodings.Add("gzip");
        options.Encodings.Add("br");
        options.MimeTypes.Clear();
        options.MimeTypes.Add("application/x-custom");
        await using var ts = await StartWithAsync(
            s =>
            {
                s.Handle("GET", "/custom", env => RackResponse.Text(200, "twenty bytes of text", "application/x-custom"));
                s.Handle("GET", "/text", env => RackResponse.Text(200, Json));
            },
            options);
        using var client = ts.CreateHttpClient(version);
        using (var custom = await GetAsync(client, "/custom", "br, gzip"))
        {
            custom.Content.Headers.ContentEncoding.Should().Equal("gzip");
            Encoding.UTF8.GetString(CompressionCoreTests.Decode("gzip", await custom.Content.ReadAsByteArrayAsync())).Should().Be("twenty bytes of text");
        }

        using var text = await GetAsync(client, "/text", "br, gzip");
        text.Content.Headers.ContentEncoding.Should().BeEmpty("text/plain is no longer listed");
        text.Headers.Vary.Should().BeEmpty();
    }

    [RequiresToolFact("curl")]
    public async Task Curl_compressed_decodes_the_streamed_and_buffered_bodies_exactly()
    {
        await using var ts = await StartWithAsync(s =>
        {
            s.Handle("GET", "/json", env => RackResponse.Text(200, Json, "application/json"));
            s.Handle("GET", "/stream", env => RackResponse.Streaming(200, [("Content-Type", "text/plain")], async w =>
            {
                await w.WriteAsync(Json[..1000]);
                await w.FlushAsync();
                await w.WriteAsync(Json[1000..]);
            }));
        });
        var dir = Directory.CreateTempSubdirectory("hyperion-curl-");
        try
        {
            foreach (var (path, http) in new[] { ("/json", "--http1.1"), ("/stream", "--http1.1"), ("/json", "--http2-prior-knowledge"), ("/stream", "--http2-prior-knowledge") })
            {
                string body = Path.Combine(dir.FullName, "body"), head = Path.Combine(dir.FullName, "head");
                var (code, _, err) = await ToolProcess.RunAsync("curl", "-sS", "--max-time", "10", http, "--compressed", "-D", head, "-o", body, new Uri(ts.BaseAddress, path).ToString());
                code.Should().Be(0, err);
                (await File.ReadAllTextAsync(head)).Should().MatchRegex("(?im)^content-encoding: br\\r?$", "curl offers br and the server prefers it");
                (await File.ReadAllBytesAsync(body)).Should().Equal(Encoding.UTF8.GetBytes(Json), $"{http} {path}");
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> Chunks(Task gate, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        yield return Encoding.ASCII.GetBytes("first");
        await gate.WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
        yield return Encoding.ASCII.GetBytes("second");
    }
}

public sealed class ResponseCompressionTestsOnSockets : ResponseCompressionTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class ResponseCompressionTestsOnIoUring : ResponseCompressionTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class ResponseCompressionTestsOnEpoll : ResponseCompressionTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
