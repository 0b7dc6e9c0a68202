using System.Diagnostics;
using System.Text.RegularExpressions;
using Hyperion;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Native;

namespace Hyperion.Tests.Api;

/// <summary>
/// A graceful stop under load from another process (wrk) loses no request the server accepted: every request
/// whose head was read gets a whole response, and the client receives every response the server wrote.
/// </summary>
public abstract partial class StopUnderLoadTests : TransportTests
{
    [RequiresToolFact("wrk")]
    public async Task Graceful_stop_under_load_answers_every_accepted_request()
    {
        int started = 0, ended = 0, failed = 0;
        var ts = await StartAsync(s =>
        {
            s.HandleStatic("GET", "/static", "Hello, World!");
            s.Handle("GET", "/slow", async env =>
            {
                // Leaves the loop thread, so requests are in flight when the stop begins.
                await Task.Delay(2);
                return RackResponse.Text(200, "Hello, World!");
            });
            s.OnRequestStart(_ => Interlocked.Increment(ref started));
            s.OnRequestEnd((_, response, error) =>
            {
                Interlocked.Increment(ref ended);
                if (error is not null || response is null)
                {
                    Interlocked.Increment(ref failed);
                }
            });
        });

        var psi = new ProcessStartInfo("wrk", ["-t1", "-c32", "-d3s", "--timeout", "2s", new Uri(ts.BaseAddress, "/slow").ToString()])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var wrk = Process.Start(psi)!;
        var output = wrk.StandardOutput.ReadToEndAsync();

        // Stop in the middle of the run, once the load is flowing.
        var deadline = Stopwatch.StartNew();
        while (Volatile.Read(ref ended) < 200 && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }

        Volatile.Read(ref ended).Should().BeGreaterThanOrEqualTo(200, "wrk's load reached the server");
        await ts.Server.StopAsync(TimeSpan.FromSeconds(10));
        int startedAtStop = Volatile.Read(ref started), endedAtStop = Volatile.Read(ref ended);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await wrk.WaitForExitAsync(cts.Token);
        string report = await output;
        await ts.DisposeAsync();

        startedAtStop.Should().Be(endedAtStop, "every request whose head was read was answered before the stop returned");
        failed.Should().Be(0);
        ts.Server.ConnectionCount.Should().Be(0);
        var completed = WrkRequests().Match(report);
        completed.Success.Should().BeTrue(report);
        long received = long.Parse(completed.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        received.Should().Be(endedAtStop, "the client received every response the server wrote:\n" + report);
        report.Should().NotContain("Non-2xx");
    }

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex WrkRequests();
}

public sealed class StopUnderLoadTestsOnSockets : StopUnderLoadTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class StopUnderLoadTestsOnIoUring : StopUnderLoadTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class StopUnderLoadTestsOnEpoll : StopUnderLoadTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
