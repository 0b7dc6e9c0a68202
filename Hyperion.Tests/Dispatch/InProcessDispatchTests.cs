using System.Text;
using Hyperion;
using Hyperion.Internal.Dispatch;
using Hyperion.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Hyperion.Tests.Dispatch;

/// <summary>
/// The in-process client (<see cref="HyperionServer.CreateClient"/>) runs routes under the rules the loop transports
/// apply (issue 11, item 5): the same dispatch modes, the same watchdog switch, the same rule for synchronous body reads.
/// </summary>
public sealed class InProcessDispatchTests
{
    [Fact]
    public async Task Modes_and_the_watchdog_switch_apply_to_the_in_process_client()
    {
        var clock = new FakeTimeProvider();
        var logs = new CapturingLoggerProvider();
        await using var server = new HyperionServer(new HyperionOptions { TimeProvider = clock, LoggerFactory = logs.Factory });
        server.Handle("GET", "/slow", _ =>
        {
            bool inline = RequestDispatcher.InInlineCall;
            clock.Advance(TimeSpan.FromMilliseconds(80));
            return RackResponse.Text(200, inline ? "inline" : "pool");
        });
        server.Handle("GET", "/pool", _ => RackResponse.Text(200, RequestDispatcher.InInlineCall ? "inline" : "pool"), DispatchMode.ThreadPool);
        using var client = server.CreateClient();

        (await client.GetStringAsync("/pool")).Should().Be("pool");
        (await client.GetStringAsync("/slow")).Should().Be("inline");
        (await client.GetStringAsync("/slow")).Should().Be("inline");
        (await client.GetStringAsync("/slow")).Should().Be("pool");
        logs.Lines.Should().ContainSingle(l => l.EventId.Name == "LoopStall" && l.Message.StartsWith("GET /slow held ", StringComparison.Ordinal));
        logs.Lines.Should().ContainSingle(l => l.EventId.Name == "RouteOffloaded");
    }

    [Fact]
    public async Task A_sync_route_deserializing_a_large_body_gets_200_in_process_as_on_the_wire()
    {
        await using var server = new HyperionServer(new HyperionOptions());
        server.Handle("POST", "/items", SyncBodyRoutes.CountItems);
        using var client = server.CreateClient();
        var response = await client.PostAsync("/items", new StringContent(SyncBodyRoutes.LargeJson, Encoding.UTF8, "application/json"));
        ((int)response.StatusCode).Should().Be(200);
        (await response.Content.ReadAsStringAsync()).Should().Be(SyncBodyRoutes.LargeJsonCount);
    }
}
