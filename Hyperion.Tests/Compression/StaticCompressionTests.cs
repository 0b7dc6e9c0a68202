using System.Net;
using System.Text;
using Hyperion;
using Hyperion.Http2;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Native;

namespace Hyperion.Tests.Compression;

/// <summary>Static routes: pre-built gzip/br variants, a strong ETag per representation and 304s, on both protocols and every transport.</summary>
public abstract class StaticCompressionTests : TransportTests
{
    private static readonly string Json = ResponseCompressionTests.Json;

    public static TheoryData<string> Versions => new() { "1.1", "2.0" };


    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string path, string? acceptEncoding = null, string? ifNoneMatch = null, HttpMethod? method = null)
    {
        var request = new HttpRequestMessage(method ?? HttpMethod.Get, path);
        if (acceptEncoding is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
        }

        if (ifNoneMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        }

        return await client.SendAsync(request);
    }

    private Task<TestServer> StartStaticAsync(Action<HyperionOptions>? options = null) => StartAsync(
        s =>
        {
            s.UseHttp2();
            s.HandleStatic("GET", "/small", "ok");
            s.HandleStatic("GET", "/todos.json", Json, "application/json", headers: [("Cache-Control", "max-age=60")]);
        },
        options);

    [Fact]
    public async Task A_small_static_response_without_accept_encoding_is_today_s_bytes_plus_an_etag()
    {
        await using var ts = await StartStaticAsync();
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET /small HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip, br\r\n\r\n");
        var response = await c.ReadResponseAsync();
        var etag = response.Header("ETag")!;
        etag.Should().MatchRegex("^\"[A-Za-z0-9_-]{22}\"$");

        // Two bytes are below the minimum size: no variants and no Vary, whatever the client accepts.
        response.Headers.Select(h => h.Name).Should().Equal("Content-Type", "Content-Length", "ETag", "Server", "Date");
        response.Header("Content-Type").Should().Be("text/plain");
        response.BodyText.Should().Be("ok");
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("gzip", "gzip")]
    [InlineData("br", "br")]
    [InlineData("gzip, deflate, br", "br")]
    [InlineData("br;q=0.5, gzip", "gzip")]
    [InlineData("identity", null)]
    [InlineData("gzip;q=0, br;q=0", null)]
    public async Task The_variant_follows_accept_encoding_over_http1(string? acceptEncoding, string? expected)
    {
        await using var ts = await StartStaticAsync();
        using var c = await ts.ConnectAsync();
        await c.SendAsync($"GET /todos.json HTTP/1.1\r\nHost: a\r\n{(acceptEncoding is null ? string.Empty : $"Accept-Encoding: {acceptEncoding}\r\n")}\r\n");
        var response = await c.ReadResponseAsync();
        response.Status.Should().Be(200);
        response.Header("Vary").Should().Be("Accept-Encoding", "every representation says the response varies");
        response.Header("Cache-Control").Should().Be("max-age=60");
        response.Header("Content-Length").Should().Be(response.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        response.Header("Content-Encoding").Should().Be(expected);
        var identityTag = EtagOf(response.Header("ETag")!, expected);
        identityTag.Should().MatchRegex("^\"[A-Za-z0-9_-]{22}\"$");
        var body = expected is null ? response.Body : CompressionCoreTests.Decode(expected, response.Body);
        Encoding.UTF8.GetString(body).Should().Be(Json);
        if (expected is not null)
        {
            response.Body.Length.Should().BeLessThan(Json.Length / 4);
        }
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Each_variant_has_its_own_strong_etag_and_a_matching_if_none_match_gets_304(string version)
    {
        await using var ts = await StartStaticAsync();
        using var client = ts.CreateHttpClient(version);
        var tags = new Dictionary<string, string>();
        foreach (var coding in new[] { "identity", "gzip", "br" })
        {
            using var full = await SendAsync(client, "/todos.json", coding);
            full.StatusCode.Should().Be(HttpStatusCode.OK);
            tags[coding] = full.Headers.ETag!.ToString();
            full.Headers.ETag.IsWeak.Should().BeFalse();
            var raw = await full.Content.ReadAsByteArrayAsync();
            Encoding.UTF8.GetString(coding == "identity" ? raw : CompressionCoreTests.Decode(coding, raw)).Should().Be(Json, coding);
        }

        tags.Values.Should().OnlyHaveUniqueItems();
        tags["gzip"].Should().Be(tags["identity"][..^1] + "-gzip\"");
        tags["br"].Should().Be(tags["identity"][..^1] + "-br\"");

        foreach (var (coding, tag) in tags)
        {
            foreach (var condition in new[] { tag, "W/" + tag, $"\"other\", {tag}", "*" })
            {
                using var notModified = await SendAsync(client, "/todos.json", coding, condition);
                notModified.StatusCode.Should().Be(HttpStatusCode.NotModified, $"{coding} {condition}");
                notModified.Headers.ETag!.ToString().Should().Be(tag);
                notModified.Headers.Vary.Should().Equal("Accept-Encoding");
                notModified.Headers.CacheControl!.MaxAge.Should().Be(TimeSpan.FromSeconds(60), "§15.4.5: a 304 carries the cache fields of the 200");
                notModified.Content.Headers.ContentEncoding.Should().BeEmpty();
                (await notModified.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
            }
        }

        // Another representation's tag does not validate this one: the client gets the full gzip body.
        using (var changed = await SendAsync(client, "/todos.json", "gzip", tags["identity"]))
        {
            changed.StatusCode.Should().Be(HttpStatusCode.OK);
            changed.Content.Headers.ContentEncoding.Should().Equal("gzip");
        }

        using var head = await SendAsync(client, "/todos.json", "br", tags["br"], HttpMethod.Head);
        head.StatusCode.Should().Be(HttpStatusCode.NotModified);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Static_compression_is_an_option_read_at_registration(string version)
    {
        var image = new string('x', 4000);
        await using var off = await StartAsync(
            s =>
            {
                s.UseHttp2();
                s.HandleStatic("GET", "/plain", Json, "application/json");
            },
            o => o.StaticCompression = null);
        using (var client = off.CreateHttpClient(version))
        using (var plain = await SendAsync(client, "/plain", "gzip, br"))
        {
            plain.Content.Headers.ContentEncoding.Should().BeEmpty("StaticCompression = null");
            plain.Headers.Vary.Should().BeEmpty();
            plain.Headers.ETag.Should().NotBeNull("the ETag does not depend on compression");
            (await plain.Content.ReadAsStringAsync()).Should().Be(Json);
        }

        await using var custom = await StartAsync(
            s =>
            {
                s.UseHttp2();
                s.HandleStatic("GET", "/image", image, "image/x-raw");
                s.HandleStatic("GET", "/json", Json, "application/json");
            },
            o =>
            {
                o.StaticCompression!.MimeTypes.Clear();
                o.StaticCompression.MimeTypes.Add("image/x-raw");
                o.StaticCompression.Encodings.Remove("br");
            });
        using var c = custom.CreateHttpClient(version);
        using (var compressed = await SendAsync(c, "/image", "br, gzip"))
        {
            compressed.Content.Headers.ContentEncoding.Should().Equal(["gzip"], "br was removed from the options");
            Encoding.UTF8.GetString(CompressionCoreTests.Decode("gzip", await compressed.Content.ReadAsByteArrayAsync())).Should().Be(image);
        }

        using var json = await SendAsync(c, "/json", "br, gzip");
        json.Content.Headers.ContentEncoding.Should().BeEmpty("application/json is no longer listed");
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Given_etags_encodings_and_no_transform_are_respected(string version)
    {
        await using var ts = await StartAsync(s =>
        {
            s.UseHttp2();
            s.HandleStatic("GET", "/tagged", Json, "application/json", headers: [("ETag", "W/\"v7\"")]);
            s.HandleStatic("GET", "/encoded", Json, "application/json", headers: [("Content-Encoding", "x-custom")]);
            s.HandleStatic("GET", "/no-transform", Json, "application/json", headers: [("Cache-Control", "no-transform")]);
            s.HandleStatic("POST", "/posted", Json, "application/json");
            s.HandleStatic("GET", "/image", new string('x', 4000), "image/png");
        });
        using var client = ts.CreateHttpClient(version);
        using (var tagged = await SendAsync(client, "/tagged", "br"))
        {
            tagged.Content.Headers.ContentEncoding.Should().Equal("br");
            tagged.Headers.ETag!.ToString().Should().Be("W/\"v7-br\"");
        }

        using (var notModified = await SendAsync(client, "/tagged", null, "\"v7\""))
        {
            notModified.StatusCode.Should().Be(HttpStatusCode.NotModified, "If-None-Match compares weakly");
        }

        foreach (var path in new[] { "/encoded", "/no-transform", "/image" })
        {
            using var response = await SendAsync(client, path, "gzip, br");
            response.Headers.Vary.Should().BeEmpty(path);
            response.Content.Headers.ContentEncoding.Should().Equal(path == "/encoded" ? ["x-custom"] : [], path);
            (await response.Content.ReadAsStringAsync()).Should().HaveLength(path == "/image" ? 4000 : Json.Length);
        }

        var post = new HttpRequestMessage(HttpMethod.Post, "/posted") { Content = new StringContent("") };
        post.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");
        post.Headers.TryAddWithoutValidation("If-None-Match", "*");
        using var posted = await client.SendAsync(post);
        posted.StatusCode.Should().Be(HttpStatusCode.OK, "only GET routes are conditional");
        posted.Headers.ETag.Should().BeNull();
        posted.Content.Headers.ContentEncoding.Should().Equal(["gzip"], "compression does not depend on the method");
    }

    [RequiresToolFact("curl")]
    public async Task Curl_compressed_gets_the_br_variant_and_revalidates_with_its_etag()
    {
        await using var ts = await StartStaticAsync();
        var url = new Uri(ts.BaseAddress, "/todos.json").ToString();
        var dir = Directory.CreateTempSubdirectory("hyperion-curl-");
        try
        {
            foreach (var http in new[] { "--http1.1", "--http2-prior-knowledge" })
            {
                string body = Path.Combine(dir.FullName, "body"), head = Path.Combine(dir.FullName, "head");
                var (code, _, err) = await ToolProcess.RunAsync("curl", "-sS", "--max-time", "10", http, "--compressed", "-D", head, "-o", body, url);
                code.Should().Be(0, err);
                var headers = await File.ReadAllTextAsync(head);
                headers.Should().MatchRegex("(?im)^content-encoding: br\\r?$");
                (await File.ReadAllBytesAsync(body)).Should().Equal(Encoding.UTF8.GetBytes(Json), http);
                var etag = headers.Split('\n').Single(l => l.StartsWith("etag:", StringComparison.OrdinalIgnoreCase))[5..].Trim();
                etag.Should().EndWith("-br\"");

                (code, var status, err) = await ToolProcess.RunAsync("curl", "-sS", "--max-time", "10", http, "--compressed", "-o", "/dev/null", "-w", "%{http_code}", "-H", "If-None-Match: " + etag, url);
                code.Should().Be(0, err);
                status.Should().Be("304", http);
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void An_invalid_etag_header_is_refused_at_registration()
    {
        var server = new HyperionServer(new HyperionOptions { Port = 0 });
        FluentActions.Invoking(() => server.HandleStatic("GET", "/x", "x", headers: [("ETag", "unquoted")]))
            .Should().Throw<ArgumentException>().WithMessage("*entity tag*");
    }

    /// <summary>The identity tag behind a variant's tag ("x-gzip" → "x").</summary>
    private static string EtagOf(string etag, string? coding)
        => coding is null ? etag : etag.Replace("-" + coding + "\"", "\"", StringComparison.Ordinal);
}

public sealed class StaticCompressionTestsOnSockets : StaticCompressionTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class StaticCompressionTestsOnIoUring : StaticCompressionTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class StaticCompressionTestsOnEpoll : StaticCompressionTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
