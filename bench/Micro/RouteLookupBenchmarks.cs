using System.Text;
using BenchmarkDotNet.Attributes;
using Hyperion.Internal.Dispatch;

namespace Hyperion.Bench.Micro;

/// <summary>
/// The route lookup the dispatcher runs for every request (<c>RequestDispatcher.Begin</c>): an exact path (one hash
/// lookup), a template (exact miss, then the method's trie), and a miss that falls to the app, in a table of a
/// small API's routes.
/// </summary>
[MemoryDiagnoser]
public class RouteLookupBenchmarks
{
    private readonly HyperionServer _server = new();
    private RackEnv _exact = null!;
    private RackEnv _template = null!;
    private RackEnv _deep = null!;
    private RackEnv _miss = null!;

    [GlobalSetup]
    public void Setup()
    {
        foreach (var resource in new[] { "todos", "users", "orders", "products", "invoices", "carts" })
        {
            _server.Handle("GET", $"/api/{resource}", env => RackResponse.Text(200, "list"));
            _server.Handle("POST", $"/api/{resource}", env => RackResponse.Text(201, "created"));
            _server.Handle("GET", $"/api/{resource}/{{id}}", env => RackResponse.Text(200, "one"));
            _server.Handle("PUT", $"/api/{resource}/{{id}}", env => RackResponse.Text(200, "put"));
            _server.Handle("DELETE", $"/api/{resource}/{{id}}", env => RackResponse.Text(204, string.Empty));
            _server.Handle("GET", $"/api/{resource}/{{id}}/history/{{version}}", env => RackResponse.Text(200, "old"));
        }

        _server.Handle("GET", "/assets/{path...}", env => RackResponse.Text(200, "file"));
        _server.Run(env => ValueTask.FromResult(RackResponse.Text(200, "app")));
        _exact = EnvFor("/api/orders");
        _template = EnvFor("/api/orders/12345");
        _deep = EnvFor("/api/orders/12345/history/7");
        _miss = EnvFor("/elsewhere/x");
    }

    [Benchmark(Baseline = true)]
    public object? Exact() => RequestDispatcher.Begin(_server, _exact, false, out _);

    [Benchmark]
    public int TemplateAndGetInt32()
    {
        RequestDispatcher.Begin(_server, _template, false, out _);
        return _template.RouteValues.GetInt32("id");
    }

    [Benchmark]
    public object? TwoWildcards() => RequestDispatcher.Begin(_server, _deep, false, out _);

    [Benchmark]
    public object? MissToTheApp() => RequestDispatcher.Begin(_server, _miss, false, out _);

    private RackEnv EnvFor(string path)
    {
        var env = _server.RentEnv();
        var bytes = Encoding.ASCII.GetBytes(path);
        env.CopyHead(bytes);
        env.SetTarget(0, bytes.Length, -1, 0);
        return env;
    }
}
