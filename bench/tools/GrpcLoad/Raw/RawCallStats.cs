namespace GrpcLoad;

/// <summary>One connection's counts over one run; <see cref="RawGrpcRun"/> merges them into a <see cref="LoadResult"/>.</summary>
internal sealed class RawCallStats
{
    public long Calls { get; private set; }

    public long Messages { get; set; }

    public List<double> LatenciesMs { get; } = new(1 << 14);

    public Dictionary<string, long> Statuses { get; } = new(StringComparer.Ordinal);

    public void Finish(string status)
    {
        Calls++;
        Statuses[status] = Statuses.GetValueOrDefault(status) + 1;
    }
}
