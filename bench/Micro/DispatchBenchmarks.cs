using BenchmarkDotNet.Attributes;
using Hyperion.Internal.Dispatch;
using Hyperion.Internal.Routing;

namespace Hyperion.Bench.Micro;

/// <summary>
/// What the loop watchdog costs an inline call (two TimeProvider timestamps and the loop slot), and what a
/// ThreadPool-mode call costs (the hop), through RequestDispatcher.InvokeAsync with a synchronous route.
/// </summary>
[MemoryDiagnoser]
public class DispatchBenchmarks
{
    private static readonly RackResponse Hello = RackResponse.Text(200, "Hello, World!");
    private HyperionServer _watched = null!;
    private HyperionServer _unwatched = null!;
    private RouteEntry _watchedEntry = null!;
    private RouteEntry _unwatchedEntry = null!;
    private RouteEntry _poolEntry = null!;
    private RackEnv _env = null!;

    [GlobalSetup]
    public void Setup()
    {
        _watched = Build(TimeSpan.FromMilliseconds(50));
        _unwatched = Build(null);
        _watchedEntry = _watched.Routes.Find("/hello")!.Find("GET")!;
        _unwatchedEntry = _unwatched.Routes.Find("/hello")!.Find("GET")!;
        _poolEntry = _watched.Routes.Find("/pool")!.Find("GET")!;
        _env = _watched.RentEnv();

        static HyperionServer Build(TimeSpan? threshold)
        {
            var server = new HyperionServer(new HyperionOptions { LoopStallThreshold = threshold, OffloadBlockingRoutes = false });
            server.Handle("GET", "/hello", _ => Hello);
            server.Handle("GET", "/pool", _ => Hello, DispatchMode.ThreadPool);
            return server;
        }
    }

    [Benchmark(Baseline = true)]
    public int InlineWatchdogOff() => RequestDispatcher.InvokeAsync(_unwatched, _env, _unwatchedEntry, null, false).Result.Status;

    [Benchmark]
    public int InlineWatchdogOn() => RequestDispatcher.InvokeAsync(_watched, _env, _watchedEntry, null, false).Result.Status;

    [Benchmark]
    public int ThreadPoolMode()
    {
        var pending = RequestDispatcher.InvokeAsync(_watched, _env, _poolEntry, null, false);
        while (!pending.IsCompleted)
        {
            Thread.SpinWait(20);
        }

        return pending.Result.Status;
    }
}
