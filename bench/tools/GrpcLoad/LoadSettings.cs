namespace GrpcLoad;

/// <summary>What one GrpcLoad run does (the command line, parsed).</summary>
internal sealed class LoadSettings
{
    public Uri? Url { get; set; }

    public string Mode { get; set; } = "unary";

    /// <summary>"net" (Grpc.Net.Client) or "raw" (<see cref="RawGrpcRun"/>).</summary>
    public string Client { get; set; } = "net";

    /// <summary>Raw bidi: round trips per call (0: each call lasts the whole run).</summary>
    public int Rounds { get; set; }

    public int Connections { get; set; } = 4;

    public int Concurrency { get; set; } = 16;

    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan Warmup { get; set; } = TimeSpan.Zero;

    public int Messages { get; set; } = 100;

    /// <summary>Stop after this many calls (0: run for <see cref="Duration"/>).</summary>
    public long Calls { get; set; }

    /// <summary>The server's process id: its CPU time over the measured window is reported (0: not reported).</summary>
    public int ServerPid { get; set; }
}
