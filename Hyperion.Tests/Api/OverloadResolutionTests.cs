using System.Net;
using Hyperion;

namespace Hyperion.Tests.Api;

/// <summary>
/// Which <c>Handle</c> overload a call picks. Most of this is a compile-time property: this file compiling is the
/// test that <c>server.Handle("GET", "/t", env => throw …)</c> is not ambiguous (it was CS0121 before the sync
/// overload got <c>[OverloadResolutionPriority(1)]</c>). The runtime assertions check the overload chosen.
/// </summary>
public class OverloadResolutionTests
{
    [Fact]
    public async Task A_throwing_lambda_compiles_picks_the_synchronous_overload_and_answers_500()
    {
        await using var server = new HyperionServer();
        server.Handle("GET", "/t", env => throw new NotImplementedException());
        server.Handle("GET", "/default", env => default);

        KindOf(server, "/t").Should().Be("sync");
        KindOf(server, "/default").Should().Be("sync");
        using var client = server.CreateClient();
        (await client.GetAsync("/t")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
    }

    [Fact]
    public async Task Lambdas_method_groups_and_async_lambdas_pick_the_overload_their_shape_says()
    {
        await using var server = new HyperionServer();
        server.Handle("GET", "/lambda", env => RackResponse.Text(200, "lambda"));
        server.Handle("GET", "/async", async env =>
        {
            await Task.Yield();
            return RackResponse.Text(200, "async");
        });
        server.Handle("GET", "/valuetask", env => ValueTask.FromResult(RackResponse.Text(200, "valuetask")));
        server.Handle("GET", "/group", Sync);
        server.Handle("GET", "/async-group", AsyncGroup);
        server.Handle("GET", "/block", env =>
        {
            if (env.QueryString == "fail")
            {
                throw new InvalidOperationException("fail");
            }

            return RackResponse.Text(200, "block");
        });

        KindOf(server, "/lambda").Should().Be("sync");
        KindOf(server, "/async").Should().Be("async");
        KindOf(server, "/valuetask").Should().Be("async");
        KindOf(server, "/group").Should().Be("sync");
        KindOf(server, "/async-group").Should().Be("async");
        KindOf(server, "/block").Should().Be("sync");
        using var client = server.CreateClient();
        foreach (var path in new[] { "lambda", "async", "valuetask", "group", "async-group", "block" })
        {
            (await client.GetStringAsync("/" + path)).Should().Be(path);
        }
    }

    private static RackResponse Sync(RackEnv env) => RackResponse.Text(200, "group");

    private static async ValueTask<RackResponse> AsyncGroup(RackEnv env)
    {
        await Task.Yield();
        return RackResponse.Text(200, "async-group");
    }

    private static string KindOf(HyperionServer server, string path)
    {
        var entry = server.Routes.Find(path)!.Entries.Single();
        return entry.Sync is not null ? "sync" : entry.Async is not null ? "async" : "other";
    }
}
