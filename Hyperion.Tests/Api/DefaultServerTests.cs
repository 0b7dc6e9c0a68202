using System.Net;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Api;

/// <summary>
/// The design card's static shape over a real socket: <c>HyperionServer.Handle(…)</c> and
/// <c>HyperionServer.RunAsync()</c> on the process-wide default server. This is the only test that touches
/// <see cref="HyperionServer.Default"/> (it is process-wide, as Go's DefaultServeMux).
/// </summary>
public class DefaultServerTests
{
    [Fact]
    public async Task Static_members_register_on_the_default_server_and_RunAsync_serves_it()
    {
        using var logs = new CapturingLoggerProvider();
        var configured = HyperionServer.ConfigureDefault(new HyperionOptions { Port = 0, LoggerFactory = logs.Factory, Transport = TransportKind.Sockets });
        HyperionServer.Default.Should().BeSameAs(configured);
        var again = () => HyperionServer.ConfigureDefault(new HyperionOptions());
        again.Should().Throw<InvalidOperationException>().WithMessage("*before the first*");

        // Each of these call shapes compiles against the static members (a type receiver) as it does on an instance.
        HyperionServer.HandleStatic("GET", "/health", "ok");
        HyperionServer.Handle("GET", "/hello", env => RackResponse.Text(200, "Hello, " + env.QueryString));
        HyperionServer.Handle("GET", "/todos/{id}", env => RackResponse.Text(200, "todo " + env.RouteValues["id"]));
        HyperionServer.Handle("GET", "/async", async env =>
        {
            await Task.Yield();
            return RackResponse.Text(200, "async");
        });
        HyperionServer.Handle("GET", "/throws", env => throw new NotImplementedException());   // not CS0121
        HyperionServer.Use(next => async env => (await next(env)).WithHeader("x-default", "1"));
        HyperionServer.Run(env => ValueTask.FromResult(RackResponse.Text(200, "app")));
        var duplicate = () => HyperionServer.Handle("GET", "/hello", env => RackResponse.Text(200, "again"));
        duplicate.Should().Throw<ArgumentException>("the facade is the instance API, rules included");

        await HyperionServer.Default.StartAsync();
        using var stop = new CancellationTokenSource();
        var run = HyperionServer.RunAsync(stop.Token);
        using var client = new HttpClient { BaseAddress = HyperionServer.Default.BaseAddress, Timeout = TimeSpan.FromSeconds(15) };
        (await client.GetStringAsync("/health")).Should().Be("ok");
        using (var hello = await client.GetAsync("/hello?you"))
        {
            (await hello.Content.ReadAsStringAsync()).Should().Be("Hello, you");
            hello.Headers.GetValues("x-default").Should().Equal("1");
        }

        (await client.GetStringAsync("/todos/5")).Should().Be("todo 5");
        (await client.GetStringAsync("/async")).Should().Be("async");
        (await client.GetStringAsync("/other")).Should().Be("app");
        (await client.GetAsync("/throws")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);

        run.IsCompleted.Should().BeFalse("RunAsync runs until a signal or the token");
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(15));
        await client.Invoking(c => c.GetAsync("/health")).Should().ThrowAsync<HttpRequestException>("the default server stopped");
    }
}
