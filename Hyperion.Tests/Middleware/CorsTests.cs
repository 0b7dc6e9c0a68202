using System.Net;
using Hyperion;
using Hyperion.Tests.Http2;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Middleware;

/// <summary>
/// The CORS middleware on every transport, over HTTP/1.1 and h2c, from HttpClient and raw sockets: preflights are
/// answered without reaching the app (allowed: 204 with the allow headers; refused: 204 without any CORS header),
/// actual requests of allowed origins get the origin (or "*"), credentials and exposed headers, and every answer that
/// depends on the Origin says so with Vary.
/// </summary>
public abstract class CorsTests : TransportTests
{
    private const string App = "https://app.example";
    private int _appCalls;

    private Task<TestServer> StartCorsAsync(Action<CorsOptions> configure) => StartAsync(s =>
    {
        s.UseHttp2();
        var options = new CorsOptions();
        configure(options);
        s.Use(new Cors(options));
        s.Handle("GET", "/api", env =>
        {
            Interlocked.Increment(ref _appCalls);
            return RackResponse.Text(200, "api").WithHeader("X-Total", "3");
        });
        s.Handle("DELETE", "/api", async env =>
        {
            Interlocked.Increment(ref _appCalls);
            await Task.Yield();
            return RackResponse.Empty(204);
        });
        s.Handle("OPTIONS", "/api", env =>
        {
            Interlocked.Increment(ref _appCalls);
            return RackResponse.Empty(200, [("Allow", "GET, DELETE, OPTIONS")]);
        });
    });

    private static void Listed(CorsOptions o)
    {
        o.AllowedOrigins.Add(App);
        o.AllowedMethods.Add("DELETE");
        o.AllowedHeaders.Add("X-Token");
        o.AllowedHeaders.Add("Content-Type");
        o.ExposedHeaders.Add("X-Total");
        o.PreflightMaxAge = TimeSpan.FromMinutes(10);
    }

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
    public async Task An_allowed_preflight_is_answered_204_without_reaching_the_app(bool h2)
    {
        await using var ts = await StartCorsAsync(Listed);
        using var client = Client(ts, h2);
        using var response = await SendAsync(client, h2, HttpMethod.Options, "/api",
            ("Origin", App), ("Access-Control-Request-Method", "DELETE"), ("Access-Control-Request-Headers", "x-token, content-type"));
        response.StatusCode.Should().Be(HttpStatusCode.NoContent);
        Header(response, "Access-Control-Allow-Origin").Should().Be(App);
        Header(response, "Access-Control-Allow-Methods").Should().Be("GET, HEAD, POST, DELETE");
        Header(response, "Access-Control-Allow-Headers").Should().Be("x-token, content-type");
        Header(response, "Access-Control-Max-Age").Should().Be("600");
        Header(response, "Access-Control-Allow-Credentials").Should().BeNull();
        response.Headers.Vary.Should().Contain("Origin");
        _appCalls.Should().Be(0, "the app never sees a preflight");
    }

    [Theory]
    [InlineData(false, "https://evil.example", "DELETE", null)]
    [InlineData(false, "https://app.example.evil", "DELETE", null)]
    [InlineData(false, "null", "DELETE", null)]
    [InlineData(false, App, "PUT", null)]
    [InlineData(false, App, "DELETE", "x-token, x-other")]
    [InlineData(true, "https://evil.example", "DELETE", null)]
    [InlineData(true, App, "PATCH", null)]
    [InlineData(true, App, "GET", "authorization")]
    public async Task A_refused_preflight_gets_no_cors_headers_and_never_reaches_the_app(bool h2, string origin, string method, string? headers)
    {
        await using var ts = await StartCorsAsync(Listed);
        using var client = Client(ts, h2);
        var fields = new List<(string, string)> { ("Origin", origin), ("Access-Control-Request-Method", method) };
        if (headers is not null)
        {
            fields.Add(("Access-Control-Request-Headers", headers));
        }

        using var response = await SendAsync(client, h2, HttpMethod.Options, "/api", [.. fields]);
        response.StatusCode.Should().Be(HttpStatusCode.NoContent);
        response.Headers.Should().NotContain(h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
        response.Headers.Vary.Should().Contain("Origin");
        _appCalls.Should().Be(0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Actual_requests_get_cors_headers_only_for_allowed_origins_and_always_vary(bool h2)
    {
        await using var ts = await StartCorsAsync(Listed);
        using var client = Client(ts, h2);

        using (var allowed = await SendAsync(client, h2, HttpMethod.Get, "/api", ("Origin", App)))
        {
            (await allowed.Content.ReadAsStringAsync()).Should().Be("api");
            Header(allowed, "Access-Control-Allow-Origin").Should().Be(App);
            Header(allowed, "Access-Control-Expose-Headers").Should().Be("X-Total");
            Header(allowed, "X-Total").Should().Be("3", "the app's own headers stay");
            allowed.Headers.Vary.Should().Contain("Origin");
        }

        using (var upperCase = await SendAsync(client, h2, HttpMethod.Get, "/api", ("Origin", "HTTPS://APP.EXAMPLE")))
        {
            Header(upperCase, "Access-Control-Allow-Origin").Should().Be("HTTPS://APP.EXAMPLE", "origins compare without case and are echoed as sent");
        }

        using (var asyncRoute = await SendAsync(client, h2, HttpMethod.Delete, "/api", ("Origin", App)))
        {
            asyncRoute.StatusCode.Should().Be(HttpStatusCode.NoContent);
            Header(asyncRoute, "Access-Control-Allow-Origin").Should().Be(App, "a response that completes later is decorated too");
        }

        using (var other = await SendAsync(client, h2, HttpMethod.Get, "/api", ("Origin", "https://evil.example")))
        {
            (await other.Content.ReadAsStringAsync()).Should().Be("api", "CORS does not refuse requests; the browser withholds the response");
            other.Headers.Should().NotContain(h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
            other.Headers.Vary.Should().Contain("Origin");
        }

        using (var none = await SendAsync(client, h2, HttpMethod.Get, "/api"))
        {
            none.Headers.Should().NotContain(h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
            none.Headers.Vary.Should().Contain("Origin", "a cache must not reuse this answer for a cross-origin request");
        }

        using (var notPreflight = await SendAsync(client, h2, HttpMethod.Options, "/api", ("Origin", App)))
        {
            notPreflight.StatusCode.Should().Be(HttpStatusCode.OK, "OPTIONS without Access-Control-Request-Method is an ordinary request");
            Header(notPreflight, "Access-Control-Allow-Origin").Should().Be(App);
        }

        _appCalls.Should().Be(6);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Credentials_echo_the_origin_and_a_wildcard_sends_star_without_vary(bool h2)
    {
        await using (var ts = await StartCorsAsync(o =>
        {
            o.AllowedOrigins.Add(App);
            o.AllowCredentials = true;
            o.AllowedHeaders.Add("*");
        }))
        {
            using var client = Client(ts, h2);
            using var actual = await SendAsync(client, h2, HttpMethod.Get, "/api", ("Origin", App));
            Header(actual, "Access-Control-Allow-Origin").Should().Be(App);
            Header(actual, "Access-Control-Allow-Credentials").Should().Be("true");
            using var preflight = await SendAsync(client, h2, HttpMethod.Options, "/api", ("Origin", App), ("Access-Control-Request-Method", "GET"), ("Access-Control-Request-Headers", "x-anything"));
            Header(preflight, "Access-Control-Allow-Origin").Should().Be(App);
            Header(preflight, "Access-Control-Allow-Credentials").Should().Be("true");
            Header(preflight, "Access-Control-Allow-Headers").Should().Be("x-anything");
        }

        await using (var ts = await StartCorsAsync(o => o.AllowedOrigins.Add("*")))
        {
            using var client = Client(ts, h2);
            using var actual = await SendAsync(client, h2, HttpMethod.Get, "/api", ("Origin", "https://anyone.example"));
            Header(actual, "Access-Control-Allow-Origin").Should().Be("*");
            Header(actual, "Access-Control-Allow-Credentials").Should().BeNull();
            actual.Headers.Vary.Should().NotContain("Origin", "the answer is the same for every origin");
        }
    }

    [Fact]
    public void A_wildcard_origin_with_credentials_is_refused()
    {
        var options = new CorsOptions { AllowCredentials = true };
        options.AllowedOrigins.Add("*");
        FluentActions.Invoking(() => new Cors(options)).Should().Throw<ArgumentException>().WithMessage("*credentials*");
    }

    [Theory]
    [InlineData("https://a.example\r\nX-Evil: 1")]
    [InlineData("")]
    [InlineData("https://a.example, https://b.example")]
    public void Options_that_cannot_be_written_as_headers_are_refused(string origin)
    {
        var options = new CorsOptions();
        options.AllowedOrigins.Add(origin);
        FluentActions.Invoking(() => new Cors(options)).Should().Throw<ArgumentException>();
    }

    [Fact]
    public async Task A_raw_h2c_preflight_and_request()
    {
        await using var ts = await StartCorsAsync(Listed);
        await using var client = await H2RawClient.ConnectAsync(ts.Port);
        await client.SendHeadersAsync(1, endStream: true,
            (":method", "OPTIONS"), (":scheme", "http"), (":authority", "x"), (":path", "/api"),
            ("origin", App), ("access-control-request-method", "DELETE"), ("access-control-request-headers", "x-token"));
        var preflight = await client.ReadResponseAsync(1);
        preflight.Status.Should().Be(204);
        preflight.Header("access-control-allow-origin").Should().Be(App);
        preflight.Header("access-control-allow-methods").Should().Be("GET, HEAD, POST, DELETE");
        preflight.Header("access-control-allow-headers").Should().Be("x-token");
        preflight.Header("access-control-max-age").Should().Be("600");

        await client.SendHeadersAsync(3, endStream: true, H2.Get("/api", ("origin", App)));
        var actual = await client.ReadResponseAsync(3);
        actual.Status.Should().Be(200);
        actual.Header("access-control-allow-origin").Should().Be(App);
        actual.Header("access-control-expose-headers").Should().Be("X-Total");
        actual.Header("vary").Should().Be("Origin");
        _appCalls.Should().Be(1, "only the actual request reached the app");
    }

    [Fact]
    public async Task A_raw_preflight_and_request_on_one_connection()
    {
        await using var ts = await StartCorsAsync(Listed);
        using var raw = await ts.ConnectAsync();
        await raw.SendAsync(
            $"OPTIONS /api HTTP/1.1\r\nHost: x\r\nOrigin: {App}\r\nAccess-Control-Request-Method: DELETE\r\nAccess-Control-Request-Headers: X-Token\r\n\r\n" +
            $"DELETE /api HTTP/1.1\r\nHost: x\r\nOrigin: {App}\r\nX-Token: t\r\n\r\n" +
            "OPTIONS /api HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\nAccess-Control-Request-Method: DELETE\r\n\r\n");
        var preflight = await raw.ReadResponseAsync();
        preflight.Status.Should().Be(204);
        preflight.Header("Access-Control-Allow-Origin").Should().Be(App);
        preflight.Header("Access-Control-Allow-Headers").Should().Be("X-Token");
        var actual = await raw.ReadResponseAsync();
        actual.Status.Should().Be(204);
        actual.Header("Access-Control-Allow-Origin").Should().Be(App);
        actual.Header("Vary").Should().Be("Origin");
        var refused = await raw.ReadResponseAsync();
        refused.Status.Should().Be(204);
        refused.Headers.Should().NotContain(h => h.Name.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
        _appCalls.Should().Be(1);
    }
}

public sealed class CorsTestsOnIoUring : CorsTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class CorsTestsOnEpoll : CorsTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}

public sealed class CorsTestsOnSockets : CorsTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}
