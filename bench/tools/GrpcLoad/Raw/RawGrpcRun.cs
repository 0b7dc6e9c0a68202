using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace GrpcLoad;

/// <summary>
/// The raw client's connections, each run by its own thread (h2load's shape: an event loop per thread, many streams
/// per connection), and the merge of their counts into one <see cref="LoadResult"/>.
/// </summary>
internal sealed class RawGrpcRun : IDisposable
{
    private readonly RawGrpcConnection[] _connections;

    public RawGrpcRun(Uri url, RawCallPlan plan, int connections, int concurrency)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(connections);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(concurrency);
        _connections = new RawGrpcConnection[connections];
        try
        {
            for (int c = 0; c < connections; c++)
            {
                _connections[c] = RawGrpcConnection.Connect(url, plan, concurrency);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Runs for <paramref name="duration"/> (and at most <paramref name="callLimit"/> calls when above 0); blocks.</summary>
    public LoadResult Run(TimeSpan duration, long callLimit, int serverPid)
    {
        double server0 = ProcessCpu.Seconds(serverPid);
        TimeSpan client0 = Environment.CpuUsage.TotalTime;
        var budget = new CallBudget(callLimit);
        var stats = new RawCallStats[_connections.Length];
        var failures = new Exception?[_connections.Length];
        var threads = new Thread[_connections.Length];
        long start = Stopwatch.GetTimestamp();
        long end = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        for (int c = 0; c < _connections.Length; c++)
        {
            int index = c;
            threads[c] = new Thread(() =>
            {
                try
                {
                    stats[index] = _connections[index].Run(end, budget);
                }
#pragma warning disable CA1031 // a failure is rethrown on the caller's thread below
                catch (Exception e)
#pragma warning restore CA1031
                {
                    failures[index] = e;
                }
            })
            { IsBackground = true, Name = "raw-grpc-" + index };
            threads[c].Start();
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        double serverCpu = ProcessCpu.Seconds(serverPid) - server0;
        double clientCpu = (Environment.CpuUsage.TotalTime - client0).TotalSeconds;
        if (failures.FirstOrDefault(f => f is not null) is { } failure)
        {
            ExceptionDispatchInfo.Throw(failure);
        }

        return LoadResult.Merge(stats.Select(s => (s.Calls, s.Messages, (IEnumerable<double>)s.LatenciesMs, (IEnumerable<KeyValuePair<string, long>>)s.Statuses)), seconds, serverCpu, clientCpu);
    }

    public void Dispose()
    {
        foreach (RawGrpcConnection? connection in _connections)
        {
            connection?.Dispose();
        }
    }
}
