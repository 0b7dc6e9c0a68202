using System.Net;
using System.Security.Cryptography;
using System.Text;
using Hyperion;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Native;

namespace Hyperion.Tests.Tls;

/// <summary>HTTP/1.1 over TLS as real clients see it: every route kind, bodies both ways, keep-alive, files, stop.</summary>
public abstract class HttpsTests : TransportTests
{
    private Task<TestServer> StartHttpsAsync(Action<HyperionServer>? configure = null, Action<HyperionOptions>? options = null) => StartAsync(
        s =>
        {
            s.HandleStatic("GET", "/static", "static over tls");
            s.Handle("GET", "/dynamic", env => RackResponse.Text(200, $"{env["rack.url_scheme"]} {env["HTTPS"]}"));
            s.Handle("POST", "/echo", async env =>
            {
                var ms = new MemoryStream();
                await env.Body.CopyToAsync(ms);
                return RackResponse.Bytes(200, ms.ToArray());
            });
            s.Run(env => ValueTask.FromResult(RackResponse.Text(200, $"app {env.Scheme} {env.Path}")));
            configure?.Invoke(s);
        },
        o =>
        {
            o.UseTls(TestCertificate.Certificate);
            options?.Invoke(o);
        });

    [Fact]
    public async Task Static_dynamic_and_app_routes_answer_over_https_with_the_https_scheme()
    {
        await using var ts = await StartHttpsAsync();
        ts.BaseAddress.Scheme.Should().Be("https");
        using var client = TestCertificate.CreateHttpClient(ts.BaseAddress);

        (await client.GetStringAsync("/static")).Should().Be("static over tls");
        (await client.GetStringAsync("/dynamic")).Should().Be("https on");
        var app = await client.GetAsync("/some/where");
        app.Version.Should().Be(HttpVersion.Version11);
        (await app.Content.ReadAsStringAsync()).Should().Be("app https /some/where");
        ts.Logs.Lines.Should().Contain(l => l.EventId.Name == "Listening" && l.Message.Contains("https://127.0.0.1:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_large_request_body_spanning_many_tls_records_echoes_intact()
    {
        await using var ts = await StartHttpsAsync();
        using var client = TestCertificate.CreateHttpClient(ts.BaseAddress);
        var body = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);

        using var response = await client.PostAsync("/echo", new ByteArrayContent(body));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsByteArrayAsync()).Should().Equal(body);
    }

    [Fact]
    public async Task Keep_alive_reuses_one_tls_connection_for_many_requests()
    {
        await using var ts = await StartHttpsAsync();
        int connects = 0;
        using var client = TestCertificate.CreateHttpClient(ts.BaseAddress, () => Interlocked.Increment(ref connects));

        for (int i = 0; i < 20; i++)
        {
            (await client.GetStringAsync("/dynamic")).Should().Be("https on");
        }

        connects.Should().Be(1);
    }

    [Fact]
    public async Task A_file_response_arrives_intact_through_tls_not_sent_in_clear()
    {
        var path = Path.Combine(Path.GetTempPath(), $"hyperion-tls-file-{Guid.NewGuid():N}.bin");
        var content = RandomNumberGenerator.GetBytes(700 * 1024 + 3);
        await File.WriteAllBytesAsync(path, content);
        try
        {
            await using var ts = await StartHttpsAsync(s => s.Handle("GET", "/file", _ => RackResponse.File(200, null, path)));
            using var client = TestCertificate.CreateHttpClient(ts.BaseAddress);

            for (int i = 0; i < 2; i++)
            {
                using var response = await client.GetAsync("/file");
                response.StatusCode.Should().Be(HttpStatusCode.OK);
                (await response.Content.ReadAsByteArrayAsync()).Should().Equal(content);
            }

            (await client.GetStringAsync("/static")).Should().Be("static over tls", "the connection is still in sync after the file");
            ts.Server.KernelFileBytes.Should().Be(0, "TLS encrypts in user memory: the file takes the copy path, never sendfile");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Two_requests_pipelined_on_one_tls_stream_are_answered_in_order()
    {
        await using var ts = await StartHttpsAsync();
        await using var ssl = await TestCertificate.ConnectAsync(ts.Port);
        await ssl.WriteAsync("GET /static HTTP/1.1\r\nHost: a\r\n\r\nGET /dynamic HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray());

        var text = await ReadUntilAsync(ssl, "https on");

        text.IndexOf("static over tls", StringComparison.Ordinal).Should().BeGreaterThan(0)
            .And.BeLessThan(text.IndexOf("https on", StringComparison.Ordinal));
    }

    [RequiresToolFact("curl")]
    public async Task Curl_fetches_over_https()
    {
        await using var ts = await StartHttpsAsync();
        var psi = new System.Diagnostics.ProcessStartInfo("curl", $"-sS -k --http1.1 --max-time 10 https://127.0.0.1:{ts.Port}/dynamic https://localhost:{ts.Port}/static")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var curl = System.Diagnostics.Process.Start(psi)!;
        var output = await curl.StandardOutput.ReadToEndAsync();
        var error = await curl.StandardError.ReadToEndAsync();
        await curl.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));

        curl.ExitCode.Should().Be(0, error);
        output.Should().Be("https onstatic over tls");
    }

    [Fact]
    public async Task Graceful_stop_closes_an_idle_tls_keep_alive_connection_without_forcing()
    {
        var ts = await StartHttpsAsync();
        using var client = TestCertificate.CreateHttpClient(ts.BaseAddress);
        (await client.GetStringAsync("/static")).Should().Be("static over tls");
        ts.Server.ConnectionCount.Should().Be(1);

        await ts.Server.StopAsync(TimeSpan.FromSeconds(30)).WaitAsync(TimeSpan.FromSeconds(20));

        ts.Server.ConnectionCount.Should().Be(0);
        ts.Logs.Lines.Should().NotContain(l => l.EventId.Name == "StopForced");
        await ts.DisposeAsync();
    }

    [Fact]
    public async Task A_request_in_flight_at_stop_finishes_over_tls()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ts = await StartHttpsAsync(s => s.Handle("GET", "/slow", async _ =>
        {
            entered.TrySetResult();
            await release.Task;
            return RackResponse.Text(200, "done");
        }));
        using var client = TestCertificate.CreateHttpClient(ts.BaseAddress);
        var pending = client.GetAsync("/slow");
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var stop = ts.Server.StopAsync(TimeSpan.FromSeconds(30));
        release.SetResult();
        using var response = await pending.WaitAsync(TimeSpan.FromSeconds(10));
        await stop.WaitAsync(TimeSpan.FromSeconds(20));

        (await response.Content.ReadAsStringAsync()).Should().Be("done");
        response.Headers.ConnectionClose.Should().BeTrue();
        ts.Logs.Lines.Should().NotContain(l => l.EventId.Name == "StopForced");
        await ts.DisposeAsync();
    }

    internal static async Task<string> ReadUntilAsync(Stream stream, string marker)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var text = new StringBuilder();
        var buffer = new byte[4096];
        while (!text.ToString().Contains(marker, StringComparison.Ordinal))
        {
            int n = await stream.ReadAsync(buffer, timeout.Token);
            if (n == 0)
            {
                break;
            }

            text.Append(Encoding.Latin1.GetString(buffer, 0, n));
        }

        return text.ToString();
    }
}

public sealed class HttpsTestsOnSockets : HttpsTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class HttpsTestsOnIoUring : HttpsTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class HttpsTestsOnEpoll : HttpsTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
