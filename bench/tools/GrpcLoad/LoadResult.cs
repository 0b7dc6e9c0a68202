using System.Globalization;
using System.Text;

namespace GrpcLoad;

/// <summary>The counts and latencies of one measured run, merged over every worker.</summary>
internal sealed class LoadResult
{
    public long Calls { get; init; }

    public long Messages { get; init; }

    public double Seconds { get; init; }

    /// <summary>The server process's CPU seconds over the run (0 when no pid was given).</summary>
    public double ServerCpuSeconds { get; init; }

    public double ClientCpuSeconds { get; init; }

    /// <summary>Latency samples in milliseconds, sorted.</summary>
    public required double[] LatenciesMs { get; init; }

    /// <summary>Final status of each call by name ("OK", "Unavailable", or a client-side exception's type).</summary>
    public required SortedDictionary<string, long> Statuses { get; init; }

    public long Errors => Statuses.Where(s => s.Key != "OK").Sum(s => s.Value);

    /// <summary>One run's result from the counts each worker or connection kept (both clients merge alike).</summary>
    public static LoadResult Merge(
        IEnumerable<(long Calls, long Messages, IEnumerable<double> LatenciesMs, IEnumerable<KeyValuePair<string, long>> Statuses)> parts,
        double seconds, double serverCpu, double clientCpu)
    {
        var statuses = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var latencies = new List<double>();
        long calls = 0, messages = 0;
        foreach (var part in parts)
        {
            calls += part.Calls;
            messages += part.Messages;
            latencies.AddRange(part.LatenciesMs);
            foreach (var (status, count) in part.Statuses)
            {
                statuses[status] = statuses.GetValueOrDefault(status) + count;
            }
        }

        var sorted = latencies.ToArray();
        Array.Sort(sorted);
        return new LoadResult
        {
            Calls = calls,
            Messages = messages,
            Seconds = seconds,
            ServerCpuSeconds = serverCpu,
            ClientCpuSeconds = clientCpu,
            LatenciesMs = sorted,
            Statuses = statuses,
        };
    }

    public string Format()
    {
        var line = new StringBuilder();
        line.Append(CultureInfo.InvariantCulture,
            $"calls={Calls} messages={Messages} seconds={Seconds:F3} calls_per_s={Calls / Seconds:F1} messages_per_s={Messages / Seconds:F1} ");
        line.Append(CultureInfo.InvariantCulture,
            $"p50_ms={Percentile(0.50):F3} p95_ms={Percentile(0.95):F3} p99_ms={Percentile(0.99):F3} server_cpu_s={ServerCpuSeconds:F3} client_cpu_s={ClientCpuSeconds:F3} errors={Errors} statuses=");
        line.AppendJoin(',', Statuses.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Key}:{s.Value}")));
        return line.ToString();
    }

    // Nearest-rank percentile, as bench/report.py computes h2load's.
    private double Percentile(double q)
        => LatenciesMs.Length == 0 ? double.NaN : LatenciesMs[Math.Min(LatenciesMs.Length - 1, (int)Math.Ceiling(q * LatenciesMs.Length) - 1)];
}
