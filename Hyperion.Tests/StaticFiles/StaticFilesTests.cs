using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Hyperion;
using Hyperion.Tests.Http2;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Native;

namespace Hyperion.Tests.StaticFiles;

/// <summary>
/// <c>MapFiles</c> on every transport, over HTTP/1.1 (sendfile, whole files and ranges) and h2c (DATA frames), from
/// HttpClient and raw sockets: validators and 304, single ranges byte-exact with 206/416 and If-Range, index files,
/// HEAD, 405, and a table of traversal spellings sent raw so no client normalises them, none of which leaks a byte
/// of the file outside the root.
/// </summary>
public abstract class StaticFilesTests : TransportTests, IDisposable
{
    private const string Secret = "TOP-SECRET-OUTSIDE-THE-ROOT";

    private readonly string _base = Directory.CreateTempSubdirectory("hyperion-static-").FullName;
    private readonly string _root;
    private readonly byte[] _big = RandomNumberGenerator.GetBytes(300_000);

    protected StaticFilesTests()
    {
        _root = Path.Combine(_base, "public");
        Directory.CreateDirectory(Path.Combine(_root, "sub"));
        Directory.CreateDirectory(Path.Combine(_root, "empty"));
        Directory.CreateDirectory(Path.Combine(_root, ".git"));
        File.WriteAllText(Path.Combine(_base, "secret.txt"), Secret);
        File.WriteAllText(Path.Combine(_root, "index.html"), "<h1>root</h1>");
        File.WriteAllText(Path.Combine(_root, "sub", "index.html"), "<h1>sub</h1>");
        File.WriteAllText(Path.Combine(_root, "a.txt"), "hello a");
        File.WriteAllText(Path.Combine(_root, "style.css"), "body{}");
        File.WriteAllText(Path.Combine(_root, "data.weird"), "?");
        File.WriteAllText(Path.Combine(_root, ".env"), Secret);
        File.WriteAllText(Path.Combine(_root, ".git", "config"), Secret);
        File.WriteAllBytes(Path.Combine(_root, "big.bin"), _big);
        File.CreateSymbolicLink(Path.Combine(_root, "link-in.txt"), Path.Combine(_root, "a.txt"));
        File.CreateSymbolicLink(Path.Combine(_root, "link-out.txt"), Path.Combine(_base, "secret.txt"));
        File.CreateSymbolicLink(Path.Combine(_root, "relative-out.txt"), "../secret.txt");
        Directory.CreateSymbolicLink(Path.Combine(_root, "dir-out"), _base);
        File.CreateSymbolicLink(Path.Combine(_root, "zero"), "/dev/zero");
        using var mkfifo = Process.Start("mkfifo", Path.Combine(_root, "fifo"));
        mkfifo.WaitForExit();
    }

    public void Dispose() => Directory.Delete(_base, recursive: true);

    private Task<TestServer> StartFilesAsync(Action<StaticFileOptions>? configure = null) => StartAsync(s =>
    {
        s.UseHttp2();
        var options = new StaticFileOptions();
        configure?.Invoke(options);
        s.MapFiles("/assets", _root, options);
        s.Handle("GET", "/other", _ => RackResponse.Text(200, "other"));
    });

    private static HttpClient Client(TestServer ts, bool h2) => h2 ? H2cClient.Create(ts.BaseAddress) : ts.CreateHttpClient();

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, bool h2, HttpMethod method, string path, params (string Name, string Value)[] headers)
    {
        var request = h2 ? H2cClient.Request(method, path) : new HttpRequestMessage(method, path);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return client.SendAsync(request);
    }

    private static string? Header(HttpResponseMessage response, string name)
        => response.Headers.TryGetValues(name, out var v) || response.Content.Headers.TryGetValues(name, out v) ? string.Join(", ", v) : null;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_file_arrives_with_its_type_validators_and_accept_ranges(bool h2)
    {
        await using var ts = await StartFilesAsync();
        using var client = Client(ts, h2);
        using var response = await SendAsync(client, h2, HttpMethod.Get, "/assets/big.bin");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Version.Should().Be(h2 ? HttpVersion.Version20 : HttpVersion.Version11);
        (await response.Content.ReadAsByteArrayAsync()).Should().Equal(_big);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/octet-stream");
        response.Content.Headers.ContentLength.Should().Be(_big.Length);
        Header(response, "Accept-Ranges").Should().Be("bytes");
        response.Headers.ETag!.IsWeak.Should().BeFalse("the tag is strong so If-Range can use it");
        response.Content.Headers.LastModified.Should().Be(new DateTimeOffset(File.GetLastWriteTimeUtc(Path.Combine(_root, "big.bin"))).AddTicks(-(File.GetLastWriteTimeUtc(Path.Combine(_root, "big.bin")).Ticks % TimeSpan.TicksPerSecond)));
        (await client.GetStringAsync("/other")).Should().Be("other", "paths outside the mount reach the routes");
        ts.Server.KernelFileBytes.Should().Be(h2 ? 0 : _big.Length, "cleartext HTTP/1.1 sends file bodies with sendfile");

        // The in-process client has no socket: the copy path, from the same descriptor, a range included.
        using var inProcess = ts.Server.CreateClient();
        (await inProcess.GetByteArrayAsync("/assets/big.bin")).Should().Equal(_big);
        using var ranged = await SendAsync(inProcess, false, HttpMethod.Get, "/assets/big.bin", ("Range", "bytes=5-9"));
        (await ranged.Content.ReadAsByteArrayAsync()).Should().Equal(_big.AsSpan(5, 5).ToArray());

        using var css = await SendAsync(client, h2, HttpMethod.Get, "/assets/style.css");
        css.Content.Headers.ContentType!.MediaType.Should().Be("text/css");
        using var html = await SendAsync(client, h2, HttpMethod.Get, "/assets/index.html");
        html.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
    }

    [Fact]
    public async Task Content_types_are_configurable()
    {
        await using var ts = await StartFilesAsync(o =>
        {
            o.ContentTypes[".weird"] = "application/x-weird";
            o.ContentTypes.Remove(".css");
            o.DefaultContentType = "application/x-unknown";
        });
        using var client = ts.CreateHttpClient();
        (await client.GetAsync("/assets/data.weird")).Content.Headers.ContentType!.MediaType.Should().Be("application/x-weird");
        (await client.GetAsync("/assets/style.css")).Content.Headers.ContentType!.MediaType.Should().Be("application/x-unknown");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Single_ranges_arrive_byte_exact_with_206_and_content_range(bool h2)
    {
        await using var ts = await StartFilesAsync();
        using var client = Client(ts, h2);
        long kernelBytes = 0;
        int len = _big.Length;
        foreach (var (range, offset, count) in new (string, int, int)[]
        {
            ("bytes=0-0", 0, 1),
            ("bytes=100-65635", 100, 65536),
            ("bytes=299990-", 299_990, 10),
            ("bytes=-4096", len - 4096, 4096),
            ("bytes=-999999", 0, len),
            ("bytes=200000-999999", 200_000, len - 200_000),
        })
        {
            using var response = await SendAsync(client, h2, HttpMethod.Get, "/assets/big.bin", ("Range", range));
            response.StatusCode.Should().Be(HttpStatusCode.PartialContent, range);
            Header(response, "Content-Range").Should().Be(string.Create(CultureInfo.InvariantCulture, $"bytes {offset}-{offset + count - 1}/{len}"), range);
            response.Content.Headers.ContentLength.Should().Be(count, range);
            (await response.Content.ReadAsByteArrayAsync()).Should().Equal(_big.AsSpan(offset, count).ToArray(), range);
            kernelBytes += count;
        }

        (await client.GetStringAsync("/other")).Should().Be("other", "the connection is still in sync after the ranges");
        ts.Server.KernelFileBytes.Should().Be(h2 ? 0 : kernelBytes, "a range is sent with sendfile from its offset");
    }

    [Fact]
    public async Task Ranges_arrive_byte_exact_over_a_raw_keep_alive_connection()
    {
        await using var ts = await StartFilesAsync();
        using var raw = await ts.ConnectAsync();
        await raw.SendAsync("GET /assets/big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=1000-1999\r\n\r\nGET /assets/big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=-3\r\n\r\nGET /assets/a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
        var first = await raw.ReadResponseAsync();
        first.Status.Should().Be(206);
        first.Header("Content-Range").Should().Be("bytes 1000-1999/300000");
        first.Body.Should().Equal(_big.AsSpan(1000, 1000).ToArray());
        var second = await raw.ReadResponseAsync();
        second.Status.Should().Be(206);
        second.Body.Should().Equal(_big.AsSpan(_big.Length - 3).ToArray());
        var third = await raw.ReadResponseAsync();
        third.BodyText.Should().Be("hello a");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Unsatisfiable_multiple_and_ignored_ranges(bool h2)
    {
        await using var ts = await StartFilesAsync();
        using var client = Client(ts, h2);
        using (var unsatisfiable = await SendAsync(client, h2, HttpMethod.Get, "/assets/big.bin", ("Range", "bytes=300000-")))
        {
            unsatisfiable.StatusCode.Should().Be(HttpStatusCode.RequestedRangeNotSatisfiable);
            Header(unsatisfiable, "Content-Range").Should().Be("bytes */300000");
            (await unsatisfiable.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
        }

        foreach (var range in new[] { "bytes=0-1,5-9", "bytes=9-5", "lines=1-2" })
        {
            using var full = await SendAsync(client, h2, HttpMethod.Get, "/assets/big.bin", ("Range", range));
            full.StatusCode.Should().Be(HttpStatusCode.OK, range + " is answered with the whole file");
            (await full.Content.ReadAsByteArrayAsync()).Should().Equal(_big);
        }

        using var head = await SendAsync(client, h2, HttpMethod.Head, "/assets/big.bin", ("Range", "bytes=0-9"));
        head.StatusCode.Should().Be(HttpStatusCode.OK, "Range is defined for GET only (RFC 9110 §14.2)");
        head.Content.Headers.ContentLength.Should().Be(_big.Length);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task If_range_applies_the_range_only_for_the_current_validator(bool h2)
    {
        await using var ts = await StartFilesAsync();
        using var client = Client(ts, h2);
        using var plain = await SendAsync(client, h2, HttpMethod.Get, "/assets/big.bin");
        string etag = plain.Headers.ETag!.ToString();
        string lastModified = Header(plain, "Last-Modified")!;

        foreach (var (ifRange, partial) in new[]
        {
            (etag, true),
            (lastModified, true),
            ("\"other\"", false),
            ("W/" + etag, false),
            ("Mon, 01 Jan 2001 00:00:00 GMT", false),
            ("garbage", false),
        })
        {
            using var response = await SendAsync(client, h2, HttpMethod.Get, "/assets/big.bin", ("Range", "bytes=10-19"), ("If-Range", ifRange));
            response.StatusCode.Should().Be(partial ? HttpStatusCode.PartialContent : HttpStatusCode.OK, ifRange);
            (await response.Content.ReadAsByteArrayAsync()).Should().Equal(partial ? _big.AsSpan(10, 10).ToArray() : _big, ifRange);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Conditional_requests_get_304_and_412_in_rfc_9110_order(bool h2)
    {
        await using var ts = await StartFilesAsync(o => o.CacheControl = "public, max-age=60");
        using var client = Client(ts, h2);
        using var plain = await SendAsync(client, h2, HttpMethod.Get, "/assets/a.txt");
        string etag = plain.Headers.ETag!.ToString();
        string lastModified = Header(plain, "Last-Modified")!;
        Header(plain, "Cache-Control").Should().Be("public, max-age=60");
        const string Later = "Fri, 01 Jan 2100 00:00:00 GMT";
        const string Earlier = "Mon, 01 Jan 2001 00:00:00 GMT";

        foreach (var (name, value, more, status) in new (string, string, (string, string)?, HttpStatusCode)[]
        {
            ("If-None-Match", etag, null, HttpStatusCode.NotModified),
            ("If-None-Match", "W/" + etag, null, HttpStatusCode.NotModified),
            ("If-None-Match", "\"x\", " + etag, null, HttpStatusCode.NotModified),
            ("If-None-Match", "*", null, HttpStatusCode.NotModified),
            ("If-None-Match", "\"x\"", null, HttpStatusCode.OK),
            ("If-Modified-Since", lastModified, null, HttpStatusCode.NotModified),
            ("If-Modified-Since", Later, null, HttpStatusCode.NotModified),
            ("If-Modified-Since", Earlier, null, HttpStatusCode.OK),
            ("If-Modified-Since", "not a date", null, HttpStatusCode.OK),

            // §13.2.2: If-Modified-Since is ignored when If-None-Match is present.
            ("If-None-Match", "\"x\"", ("If-Modified-Since", Later), HttpStatusCode.OK),
            ("If-Match", etag, null, HttpStatusCode.OK),
            ("If-Match", "\"x\"", null, HttpStatusCode.PreconditionFailed),
            ("If-Match", "W/" + etag, null, HttpStatusCode.PreconditionFailed),
            ("If-Unmodified-Since", Earlier, null, HttpStatusCode.PreconditionFailed),
            ("If-Unmodified-Since", Later, null, HttpStatusCode.OK),
            ("If-Match", etag, ("If-Unmodified-Since", Earlier), HttpStatusCode.OK),
        })
        {
            var headers = more is { } m ? new[] { (name, value), m } : new[] { (name, value) };
            using var response = await SendAsync(client, h2, HttpMethod.Get, "/assets/a.txt", headers);
            response.StatusCode.Should().Be(status, $"{name}: {value} {more}");
            var body = await response.Content.ReadAsStringAsync();
            body.Should().Be(status == HttpStatusCode.OK ? "hello a" : string.Empty);
            if (status == HttpStatusCode.NotModified)
            {
                response.Headers.ETag!.ToString().Should().Be(etag, "a 304 carries the validators (RFC 9110 §15.4.5)");
                Header(response, "Cache-Control").Should().Be("public, max-age=60");
            }
        }
    }

    [Fact]
    public async Task A_changed_file_gets_a_new_etag()
    {
        await using var ts = await StartFilesAsync();
        using var client = ts.CreateHttpClient();
        var path = Path.Combine(_root, "a.txt");
        string before = (await client.GetAsync("/assets/a.txt")).Headers.ETag!.ToString();
        File.WriteAllText(path, "hello b");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(5));
        using var response = await SendAsync(client, false, HttpMethod.Get, "/assets/a.txt", ("If-None-Match", before));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).Should().Be("hello b");
        response.Headers.ETag!.ToString().Should().NotBe(before);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Index_files_redirects_head_and_methods(bool h2)
    {
        await using var ts = await StartFilesAsync();
        using var client = Client(ts, h2);
        (await (await SendAsync(client, h2, HttpMethod.Get, "/assets/")).Content.ReadAsStringAsync()).Should().Be("<h1>root</h1>");
        (await (await SendAsync(client, h2, HttpMethod.Get, "/assets/sub/")).Content.ReadAsStringAsync()).Should().Be("<h1>sub</h1>");

        using var redirect = await SendAsync(client, h2, HttpMethod.Get, "/assets/sub?x=1");
        redirect.StatusCode.Should().Be(HttpStatusCode.MovedPermanently, "a directory is named with its slash, as ASP.NET Core's default files do");
        redirect.Headers.Location!.OriginalString.Should().Be("/assets/sub/?x=1");
        (await SendAsync(client, h2, HttpMethod.Get, "/assets")).Headers.Location!.OriginalString.Should().Be("/assets/");
        (await SendAsync(client, h2, HttpMethod.Get, "/assets/empty/")).StatusCode.Should().Be(HttpStatusCode.NotFound, "no index, no listing");
        (await SendAsync(client, h2, HttpMethod.Get, "/assets/empty")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await SendAsync(client, h2, HttpMethod.Get, "/assets/missing.txt")).StatusCode.Should().Be(HttpStatusCode.NotFound);

        using var head = await SendAsync(client, h2, HttpMethod.Head, "/assets/big.bin");
        head.StatusCode.Should().Be(HttpStatusCode.OK);
        head.Content.Headers.ContentLength.Should().Be(_big.Length);
        (await head.Content.ReadAsByteArrayAsync()).Should().BeEmpty();

        foreach (var method in new[] { HttpMethod.Post, HttpMethod.Put, HttpMethod.Delete, HttpMethod.Options })
        {
            using var refused = await SendAsync(client, h2, method, "/assets/a.txt");
            refused.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed, method.Method);
            refused.Content.Headers.Allow.Should().BeEquivalentTo(["GET", "HEAD"]);
        }

        (await client.GetStringAsync("/other")).Should().Be("other");
        ts.Server.KernelFileBytes.Should().Be(h2 ? 0 : "<h1>root</h1><h1>sub</h1>".Length, "HEAD sends no body, not even through sendfile");
    }

    [Fact]
    public async Task A_head_over_a_raw_connection_has_headers_only_and_keeps_the_connection()
    {
        await using var ts = await StartFilesAsync();
        using var raw = await ts.ConnectAsync();
        await raw.SendAsync("HEAD /assets/a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /assets/a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
        var head = await raw.ReadResponseAsync(head: true);
        head.Status.Should().Be(200);
        head.Header("Content-Length").Should().Be("7");
        var get = await raw.ReadResponseAsync();
        get.BodyText.Should().Be("hello a", "the HEAD response carried no body bytes that would shift this one");
    }

    /// <summary>Request targets (sent raw) that try to leave the root or reach what must not be served.</summary>
    public static TheoryData<string, int> AttackPaths => new()
    {
        { "/assets/../secret.txt", 400 },
        { "/assets/%2e%2e/secret.txt", 400 },
        { "/assets/%2E%2e/secret.txt", 400 },
        { "/assets/.%2e/secret.txt", 400 },
        { "/assets/%2e./secret.txt", 400 },
        { "/assets/sub/../../secret.txt", 400 },
        { "/assets/sub/%2e%2e/%2e%2e/secret.txt", 400 },
        { "/assets/..%2fsecret.txt", 400 },
        { "/assets/sub%2f..%2f..%2fsecret.txt", 400 },
        { "/assets/%2e%2e%2fsecret.txt", 400 },
        { "/assets/..\\secret.txt", 400 },
        { "/assets/..%5csecret.txt", 400 },
        { "/assets/..%5Csecret.txt", 400 },
        { "/assets/a.txt%00.html", 400 },
        { "/assets/%00", 400 },
        { "/assets/%c0%ae%c0%ae/secret.txt", 400 },
        { "/assets/%c0%ae%c0%ae%c0%afsecret.txt", 400 },
        { "/assets/%e0%80%ae%e0%80%ae/secret.txt", 400 },
        { "/assets//etc/passwd", 400 },
        { "/assets/%2fetc%2fpasswd", 400 },
        { "/assets/sub//index.html", 400 },
        { "/assets/%zz", 400 },
        { "http://x/assets/%2e%2e/secret.txt", 400 },
        { "/assets/link-out.txt", 404 },
        { "/assets/relative-out.txt", 404 },
        { "/assets/dir-out/secret.txt", 404 },
        { "/assets/.env", 404 },
        { "/assets/%2eenv", 404 },
        { "/assets/.git/config", 404 },
        { "/assets/.git/", 404 },
        { "/assets/fifo", 404 },
        { "/assets/zero", 404 },
        { "/assets/a.txt/", 404 },
        { "/assets/..;/secret.txt", 404 },
        { "/assets/...", 404 },
    };

    [Theory]
    [MemberData(nameof(AttackPaths))]
    public async Task Traversal_and_unservable_paths_are_refused_without_leaking(string target, int status)
    {
        await using var ts = await StartFilesAsync();
        using var raw = await ts.ConnectAsync();
        await raw.SendAsync($"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
        var response = await raw.ReadResponseAsync(timeout: TimeSpan.FromSeconds(5));
        response.Status.Should().Be(status, target);
        response.BodyText.Should().NotContain(Secret);
        response.Body.Length.Should().BeLessThan(100, "a refusal carries a short text, never a file");
        if (status == 400 && response.BodyText.Contains("clean file path", StringComparison.Ordinal))
        {
            ts.Logs.Lines.Should().ContainSingle(l => l.EventId.Name == "StaticPathRefused", "one line per refused path");
        }
    }

    [Fact]
    public async Task Traversal_spellings_are_refused_over_h2c_too()
    {
        await using var ts = await StartFilesAsync();
        await using var client = await H2RawClient.ConnectAsync(ts.Port);
        int stream = 1;
        foreach (var (target, status) in new[]
        {
            ("/assets/../secret.txt", 400), ("/assets/%2e%2e/secret.txt", 400), ("/assets/..%2fsecret.txt", 400),
            ("/assets/..%5csecret.txt", 400), ("/assets/%c0%ae%c0%ae/secret.txt", 400), ("/assets//etc/passwd", 400),
            ("/assets/link-out.txt", 404), ("/assets/.env", 404), ("/assets/fifo", 404), ("/assets/a.txt", 200),
        })
        {
            await client.SendHeadersAsync(stream, endStream: true, H2.Get(target));
            var response = await client.ReadResponseAsync(stream);
            response.Status.Should().Be(status, target);
            Encoding.UTF8.GetString(response.Body).Should().NotContain(Secret);
            stream += 2;
        }
    }

    [Fact]
    public async Task Links_inside_the_root_are_served_and_links_out_only_when_allowed()
    {
        await using (var ts = await StartFilesAsync())
        {
            using var client = ts.CreateHttpClient();
            (await client.GetStringAsync("/assets/link-in.txt")).Should().Be("hello a");
            (await client.GetStringAsync("/assets/dir-out/public/a.txt")).Should().Be("hello a", "the real path, not the spelling, decides: this one ends inside the root");
        }

        await using (var ts = await StartFilesAsync(o => o.AllowSymlinksOutsideRoot = true))
        {
            using var client = ts.CreateHttpClient();
            (await client.GetStringAsync("/assets/link-out.txt")).Should().Be(Secret);
            (await client.GetStringAsync("/assets/dir-out/secret.txt")).Should().Be(Secret);
            (await client.GetAsync("/assets/zero")).StatusCode.Should().Be(HttpStatusCode.NotFound, "a device is never a file, even when links may leave the root");
        }
    }

    [Fact]
    public async Task Hidden_files_are_served_only_when_allowed()
    {
        await using var ts = await StartFilesAsync(o => o.ServeHiddenFiles = true);
        using var client = ts.CreateHttpClient();
        (await client.GetStringAsync("/assets/.env")).Should().Be(Secret);
        (await client.GetStringAsync("/assets/.git/config")).Should().Be(Secret);
    }

    [Fact]
    public async Task A_file_swapped_for_a_link_out_of_the_root_is_refused()
    {
        await using var ts = await StartFilesAsync();
        using var client = ts.CreateHttpClient();
        var path = Path.Combine(_root, "swap.txt");
        File.WriteAllText(path, "inside");
        (await client.GetStringAsync("/assets/swap.txt")).Should().Be("inside");
        File.Delete(path);
        File.CreateSymbolicLink(path, Path.Combine(_base, "secret.txt"));
        using var response = await client.GetAsync("/assets/swap.txt");
        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await response.Content.ReadAsStringAsync()).Should().NotContain(Secret);
    }

    [Fact]
    public async Task The_mount_is_a_template_route_more_specific_routes_win_and_middleware_wraps_it()
    {
        await using var ts = await StartAsync(s =>
        {
            s.Use(new Cors(new CorsOptions { AllowedOrigins = { "https://app.example" } }));
            s.MapFiles("/assets", _root);
            s.Handle("GET", "/assets/special", _ => RackResponse.Text(200, "route"));
            s.Run(_ => new ValueTask<RackResponse>(RackResponse.Text(200, "app")));
            FluentActions.Invoking(() => s.Handle("GET", "/assets/{rest...}", _ => RackResponse.Empty(200)))
                .Should().Throw<ArgumentException>().WithMessage("*/assets/{path...}*", "two patterns for the same paths conflict");
        });
        using var client = ts.CreateHttpClient();
        (await client.GetStringAsync("/assets/special")).Should().Be("route", "a literal path is more specific than the mount");
        (await client.GetStringAsync("/elsewhere")).Should().Be("app");
        (await client.GetAsync("/assets/missing.txt")).StatusCode.Should().Be(HttpStatusCode.NotFound, "a missing file is the mount's 404, not the app");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/assets/a.txt");
        request.Headers.Add("Origin", "https://app.example");
        using var response = await client.SendAsync(request);
        (await response.Content.ReadAsStringAsync()).Should().Be("hello a");
        response.Headers.GetValues("Access-Control-Allow-Origin").Should().Equal("https://app.example");
    }

    [Fact]
    public async Task Swapping_a_file_and_a_link_out_of_the_root_while_it_is_served_never_leaks()
    {
        await using var ts = await StartFilesAsync();
        using var client = ts.CreateHttpClient();
        var target = Path.Combine(_root, "race.txt");
        var asFile = Path.Combine(_root, "race-file.tmp");
        var asLink = Path.Combine(_root, "race-link.tmp");
        File.WriteAllText(target, "inside");
        using var stop = new CancellationTokenSource();

        // rename(2) over the name is atomic: at every moment the name is either the file or the link.
        var swapper = Task.Run(() =>
        {
            int swaps = 0;
            while (!stop.IsCancellationRequested && swaps < 200_000)
            {
                File.WriteAllText(asFile, "inside");
                File.Move(asFile, target, overwrite: true);
                File.CreateSymbolicLink(asLink, Path.Combine(_base, "secret.txt"));
                File.Move(asLink, target, overwrite: true);
                swaps++;
            }

            return swaps;
        });

        int served = 0;
        int refused = 0;
        int swaps;
        try
        {
            for (int i = 0; i < 300; i++)
            {
                using var response = await client.GetAsync("/assets/race.txt");
                var body = await response.Content.ReadAsStringAsync();
                body.Should().NotContain(Secret);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    body.Should().Be("inside");
                    served++;
                }
                else
                {
                    response.StatusCode.Should().Be(HttpStatusCode.NotFound);
                    refused++;
                }
            }
        }
        finally
        {
            // Stopped before the directory is removed, whether the loop passed or not.
            stop.Cancel();
            swaps = await swapper;
        }

        swaps.Should().BeGreaterThan(0);
        (served + refused).Should().Be(300);
    }

    [RequiresToolFact("curl")]
    public async Task Curl_resumes_a_download_with_a_range_and_sends_traversal_as_is()
    {
        await using var ts = await StartFilesAsync();
        var partial = Path.Combine(_base, "partial.bin");
        File.WriteAllBytes(partial, _big.AsSpan(0, 123_456).ToArray());
        var url = new Uri(ts.BaseAddress, "/assets/big.bin").ToString();

        var (code, output, err) = await ToolProcess.RunAsync("curl", "-sS", "--fail", "-C", "-", "-o", partial, "-w", "%{http_code}", url);
        code.Should().Be(0, err);
        output.Should().Be("206", "curl -C - asks for the rest with Range: bytes=123456-");
        File.ReadAllBytes(partial).Should().Equal(_big);

        (code, output, err) = await ToolProcess.RunAsync("curl", "-sS", "--http2-prior-knowledge", "-r", "10-19", "-w", "%{http_code}", "-o", partial, url);
        code.Should().Be(0, err);
        output.Should().Be("206");
        File.ReadAllBytes(partial).Should().Equal(_big.AsSpan(10, 10).ToArray());

        (code, output, _) = await ToolProcess.RunAsync("curl", "-s", "--path-as-is", "-o", "-", "-w", " %{http_code}", new Uri(ts.BaseAddress, "/").ToString() + "assets/../secret.txt");
        output.Should().EndWith(" 400").And.NotContain(Secret);
    }

    [Fact]
    public async Task Every_descriptor_the_mount_opens_is_closed()
    {
        await using var ts = await StartFilesAsync();
        using var client = ts.CreateHttpClient();
        using var plain = await client.GetAsync("/assets/big.bin");
        string etag = plain.Headers.ETag!.ToString();
        foreach (var headers in new[]
        {
            new[] { ("If-None-Match", etag) },
            [("If-Match", "\"x\"")],
            [("Range", "bytes=999999-")],
            [("Range", "bytes=0-9")],
            [("Range", "bytes=0-9"), ("If-Range", "\"old\"")],
        })
        {
            using var response = await SendAsync(client, false, HttpMethod.Get, "/assets/big.bin", headers);
            await response.Content.ReadAsByteArrayAsync();
        }

        using (await SendAsync(client, false, HttpMethod.Head, "/assets/big.bin"))
        {
        }

        using (await client.GetAsync("/assets/sub"))
        {
        }

        using (await client.GetAsync("/assets/link-out.txt"))
        {
        }

        // A client that leaves in the middle of a body: the descriptor still closes.
        using (var raw = await ts.ConnectAsync())
        {
            await raw.SendAsync("GET /assets/big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
            await raw.ReadBytesAsync(100);
        }

        for (int i = 0; i < 200 && OpenDescriptors(_base) > 0; i++)
        {
            await Task.Delay(25);
        }

        OpenDescriptors(_base).Should().Be(0, "304, 412, 416, HEAD, ranges, redirects, refusals and aborted bodies all close their file");
    }

    private static int OpenDescriptors(string under)
    {
        int count = 0;
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith(under, StringComparison.Ordinal))
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

    [Fact]
    public async Task A_root_mount_serves_the_whole_site()
    {
        await using var ts = await StartAsync(s => s.MapFiles("/", _root));
        using var client = ts.CreateHttpClient();
        (await client.GetStringAsync("/")).Should().Be("<h1>root</h1>");
        (await client.GetStringAsync("/a.txt")).Should().Be("hello a");
        (await client.GetAsync("/sub")).Headers.Location!.OriginalString.Should().Be("/sub/");
        using var raw = await ts.ConnectAsync();
        await raw.SendAsync("GET //etc/passwd HTTP/1.1\r\nHost: x\r\n\r\nGET /%2e%2e/secret.txt HTTP/1.1\r\nHost: x\r\n\r\n");
        (await raw.ReadResponseAsync()).Status.Should().Be(400, "an empty segment is never an absolute path");
        (await raw.ReadResponseAsync()).Status.Should().Be(400);
    }

    [Fact]
    public void Registration_refuses_a_missing_root_and_a_bad_prefix()
    {
        var server = new HyperionServer();
        FluentActions.Invoking(() => server.MapFiles("/x", Path.Combine(_base, "nope"))).Should().Throw<DirectoryNotFoundException>();
        FluentActions.Invoking(() => server.MapFiles("x", _root)).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => server.MapFiles("/{name}", _root)).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => server.MapFiles("/x", _root, new StaticFileOptions { IndexFile = "../index.html" })).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => server.MapFiles("/x", _root, new StaticFileOptions { CacheControl = "max-age=1\r\nX-Evil: 1" })).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => server.MapFiles("/x", _root, new StaticFileOptions { ContentTypes = { [".x"] = "" } })).Should().Throw<ArgumentException>();
    }
}

public sealed class StaticFilesTestsOnIoUring : StaticFilesTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class StaticFilesTestsOnEpoll : StaticFilesTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}

public sealed class StaticFilesTestsOnSockets : StaticFilesTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}
