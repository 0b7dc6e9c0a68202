using Grpc.Core;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Hyperion;
using Hyperion.Grpc;
using Hyperion.Tests.Infrastructure;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Hyperion.Tests.Grpc;

/// <summary><c>AddGrpcHealthChecks</c>: grpc.health.v1 through Grpc.HealthCheck's own generated client, over h2c and TLS.</summary>
public abstract class GrpcHealthCheckTests : TransportTests
{
    private const string Greeter = "hyperion.tests.Greeter";

    private async Task<(TestServer Server, HealthServiceImpl Health)> StartHealthAsync(bool tls = false)
    {
        HealthServiceImpl? health = null;
        var ts = await StartAsync(
            s =>
            {
                s.AddGrpcService(new TestGreeter());
                health = s.AddGrpcHealthChecks();
            },
            o => GrpcTestServer.Configure(o, tls));
        return (ts, health!);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_server_as_a_whole_is_serving(bool tls)
    {
        var (ts, _) = await StartHealthAsync(tls);
        await using var _ts = ts;
        using var channel = GrpcTestServer.CreateChannel(ts, tls);
        var client = new Health.HealthClient(channel);

        var reply = await client.CheckAsync(new HealthCheckRequest { Service = string.Empty });

        reply.Status.Should().Be(ServingStatus.Serving);
    }

    [Fact]
    public async Task A_named_service_reports_what_the_app_set()
    {
        var (ts, health) = await StartHealthAsync();
        await using var _ts = ts;
        using var channel = GrpcTestServer.CreateChannel(ts, tls: false);
        var client = new Health.HealthClient(channel);

        health.SetStatus(Greeter, ServingStatus.NotServing);
        (await client.CheckAsync(new HealthCheckRequest { Service = Greeter })).Status.Should().Be(ServingStatus.NotServing);
        health.SetStatus(Greeter, ServingStatus.Serving);
        (await client.CheckAsync(new HealthCheckRequest { Service = Greeter })).Status.Should().Be(ServingStatus.Serving);
    }

    [Fact]
    public async Task An_unknown_service_is_not_found()
    {
        var (ts, _) = await StartHealthAsync();
        await using var _ts = ts;
        using var channel = GrpcTestServer.CreateChannel(ts, tls: false);
        var client = new Health.HealthClient(channel);

        var call = async () => await client.CheckAsync(new HealthCheckRequest { Service = "no.such.Service" });

        (await call.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.NotFound);
    }

    [Fact]
    public async Task Watch_sees_every_status_change()
    {
        var (ts, health) = await StartHealthAsync();
        await using var _ts = ts;
        using var channel = GrpcTestServer.CreateChannel(ts, tls: false);
        var client = new Health.HealthClient(channel);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var watch = client.Watch(new HealthCheckRequest { Service = Greeter }, cancellationToken: cts.Token);

        async Task<ServingStatus> NextAsync()
        {
            (await watch.ResponseStream.MoveNext(cts.Token)).Should().BeTrue();
            return watch.ResponseStream.Current.Status;
        }

        // Not set yet: Watch (unlike Check) answers SERVICE_UNKNOWN and keeps the stream open.
        (await NextAsync()).Should().Be(ServingStatus.ServiceUnknown);
        health.SetStatus(Greeter, ServingStatus.Serving);
        (await NextAsync()).Should().Be(ServingStatus.Serving);
        health.SetStatus(Greeter, ServingStatus.NotServing);
        (await NextAsync()).Should().Be(ServingStatus.NotServing);
        health.ClearStatus(Greeter);
        (await NextAsync()).Should().Be(ServingStatus.ServiceUnknown);

        // The client hangs up: the call ends as cancelled on both sides.
        await cts.CancelAsync();
        var more = async () => await watch.ResponseStream.MoveNext(CancellationToken.None);
        (await more.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.Cancelled);
    }

    [Fact]
    public async Task A_graceful_stop_turns_everything_not_serving_and_ends_the_watches_so_the_drain_does_not_wait_for_them()
    {
        HealthServiceImpl? health = null;
        await using var ts = await StartAsync(
            s =>
            {
                s.AddGrpcService(new TestGreeter());
                health = s.AddGrpcHealthChecks();
            },
            o => o.ShutdownTimeout = TimeSpan.FromHours(1)); // a watch left open would hold the stop for an hour
        health!.SetStatus(Greeter, ServingStatus.Serving);
        using var channel = GrpcTestServer.CreateChannel(ts, tls: false);
        var client = new Health.HealthClient(channel);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var whole = client.Watch(new HealthCheckRequest { Service = string.Empty }, cancellationToken: cts.Token);
        using var named = client.Watch(new HealthCheckRequest { Service = Greeter }, cancellationToken: cts.Token);
        using var unknown = client.Watch(new HealthCheckRequest { Service = "not.Registered" }, cancellationToken: cts.Token);
        (await whole.ResponseStream.MoveNext(cts.Token)).Should().BeTrue();
        whole.ResponseStream.Current.Status.Should().Be(ServingStatus.Serving);
        (await named.ResponseStream.MoveNext(cts.Token)).Should().BeTrue();
        named.ResponseStream.Current.Status.Should().Be(ServingStatus.Serving);
        (await unknown.ResponseStream.MoveNext(cts.Token)).Should().BeTrue();
        unknown.ResponseStream.Current.Status.Should().Be(ServingStatus.ServiceUnknown);

        var stop = ts.Server.StopAsync();

        foreach (var watch in new[] { whole, named })
        {
            (await watch.ResponseStream.MoveNext(cts.Token)).Should().BeTrue("the stop is published to every watcher");
            watch.ResponseStream.Current.Status.Should().Be(ServingStatus.NotServing);
            (await watch.ResponseStream.MoveNext(cts.Token)).Should().BeFalse("then the watch ends");
            watch.GetStatus().StatusCode.Should().Be(StatusCode.OK);
        }

        (await unknown.ResponseStream.MoveNext(cts.Token)).Should().BeFalse("a name the stop has no news for just ends");
        await stop.WaitAsync(cts.Token);
    }

    [Fact]
    public async Task Adding_health_twice_gives_the_same_service()
    {
        HealthServiceImpl? first = null, second = null;
        await using var ts = await StartAsync(s =>
        {
            first = s.AddGrpcHealthChecks();
            second = s.AddGrpcHealthChecks();
        });
        second.Should().BeSameAs(first);
    }
}

public sealed class GrpcHealthCheckTestsOnSockets : GrpcHealthCheckTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class GrpcHealthCheckTestsOnIoUring : GrpcHealthCheckTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class GrpcHealthCheckTestsOnEpoll : GrpcHealthCheckTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
