using System.Text;
using Hyperion;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Tls;
using Microsoft.Extensions.Time.Testing;

namespace Hyperion.Tests.Api;

/// <summary>
/// Visible by default (issue 11, item 7): a server with no LoggerFactory writes its warnings and errors to stderr,
/// one line each, and nothing below Warning. Each server here writes to its own writer (tests run in parallel).
/// </summary>
public abstract class StderrLoggingTests : TransportTests
{
    protected async Task A_handler_exception_writes_one_line_to_stderr_and_information_writes_none()
    {
        var stderr = new SyncWriter();
        var server = new HyperionServer(new HyperionOptions { Port = 0, Transport = Transport, StandardError = stderr });
        server.Handle("GET", "/t", RackResponse (RackEnv _) => throw new NotImplementedException("not yet\nreally"));
        server.HandleStatic("GET", "/ok", "ok");
        await server.StartAsync();
        try
        {
            using var client = new HttpClient { BaseAddress = server.BaseAddress };
            ((int)(await client.GetAsync("/t")).StatusCode).Should().Be(500);
            (await client.GetStringAsync("/ok")).Should().Be("ok");
        }
        finally
        {
            await server.StopAsync();
        }

        // The transport and listening lines are Information (not written unless it is a fallback, a Warning).
        var lines = stderr.Lines.Where(l => !l.Contains("Hyperion[12]", StringComparison.Ordinal)).ToArray();
        lines.Should().ContainSingle();
        lines[0].Should().MatchRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z fail Hyperion\[2\] Unhandled exception serving GET /t: System\.NotImplementedException: not yet really \(at .+\)$");
    }

    protected async Task A_loop_stall_is_a_warning_line_on_stderr()
    {
        var clock = new FakeTimeProvider();
        var stderr = new SyncWriter();
        var server = new HyperionServer(new HyperionOptions { Port = 0, Transport = Transport, StandardError = stderr, TimeProvider = clock });
        server.Handle("GET", "/slow", _ =>
        {
            clock.Advance(TimeSpan.FromSeconds(1)); // over the first call's allowance of 10 x 50 ms
            return RackResponse.Text(200, "slow");
        });
        await server.StartAsync();
        try
        {
            using var client = new HttpClient { BaseAddress = server.BaseAddress };
            (await client.GetStringAsync("/slow")).Should().Be("slow");
        }
        finally
        {
            var stop = server.StopAsync(TimeSpan.FromSeconds(5));
            while (!stop.IsCompleted)
            {
                await Task.WhenAny(stop, Task.Delay(50));
                clock.Advance(TimeSpan.FromSeconds(1));
            }

            await stop;
        }

        var lines = stderr.Lines.Where(l => !l.Contains("Hyperion[12]", StringComparison.Ordinal)).ToArray();
        lines.Should().HaveCount(2);
        lines[0].Should().Contain(" warn Hyperion[40] GET /slow held ");
        lines[1].Should().Contain(" warn Hyperion[41] GET /slow now runs on the thread pool");
    }

    protected async Task Plain_http_to_a_tls_port_gets_a_readable_400_and_an_information_line()
    {
        await using var ts = await StartAsync(s => s.HandleStatic("GET", "/", "ok"), o => o.UseTls(TestCertificate.Certificate));
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        var response = await c.ReadResponseAsync();
        response.Status.Should().Be(400);
        response.BodyText.Should().Be("Client sent an HTTP request to an HTTPS server.\n");
        (await c.IsClosedByServerAsync()).Should().BeTrue();
        var line = ts.Logs.Lines.Should().ContainSingle(l => l.EventId.Name == "PlainHttpOnTls").Subject;
        line.Level.Should().Be(Microsoft.Extensions.Logging.LogLevel.Information);
        line.Message.Should().Contain($"the TLS listener on port {ts.Port}");

        // A real TLS client on the same listener is unaffected.
        await using var ssl = await TestCertificate.ConnectAsync(ts.Port);
        await ssl.WriteAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray());
        (await HttpsTests.ReadUntilAsync(ssl, "\r\n\r\nok")).Should().StartWith("HTTP/1.1 200 OK");
    }

    /// <summary>A writer the server's threads and the test share.</summary>
    private sealed class SyncWriter : StringWriter
    {
        private readonly Lock _lock = new();

        public string[] Lines
        {
            get
            {
                lock (_lock)
                {
                    return ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
                }
            }
        }

        public override void Write(string? value)
        {
            lock (_lock)
            {
                base.Write(value);
            }
        }
    }
}

public sealed class StderrLoggingTestsOnIoUring : StderrLoggingTests
{
    protected override TransportKind Transport => IoUringOrFallback;

    [RequiresIoUringFact] public Task Handler_exception() => A_handler_exception_writes_one_line_to_stderr_and_information_writes_none();

    [RequiresIoUringFact] public Task Loop_stall() => A_loop_stall_is_a_warning_line_on_stderr();

    [RequiresIoUringFact] public Task Plain_http_on_tls() => Plain_http_to_a_tls_port_gets_a_readable_400_and_an_information_line();
}

public sealed class StderrLoggingTestsOnEpoll : StderrLoggingTests
{
    protected override TransportKind Transport => TransportKind.Epoll;

    [Fact] public Task Handler_exception() => A_handler_exception_writes_one_line_to_stderr_and_information_writes_none();

    [Fact] public Task Loop_stall() => A_loop_stall_is_a_warning_line_on_stderr();

    [Fact] public Task Plain_http_on_tls() => Plain_http_to_a_tls_port_gets_a_readable_400_and_an_information_line();
}

public sealed class StderrLoggingTestsOnSockets : StderrLoggingTests
{
    protected override TransportKind Transport => TransportKind.Sockets;

    [Fact] public Task Handler_exception() => A_handler_exception_writes_one_line_to_stderr_and_information_writes_none();

    [Fact] public Task Loop_stall() => A_loop_stall_is_a_warning_line_on_stderr();

    [Fact] public Task Plain_http_on_tls() => Plain_http_to_a_tls_port_gets_a_readable_400_and_an_information_line();
}
