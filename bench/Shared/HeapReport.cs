using System.Globalization;
using System.Runtime.InteropServices;

namespace Hyperion.Bench;

/// <summary>
/// On SIGUSR1, runs a full blocking GC and prints the live managed heap: bench/memory.sh uses it to split RSS per
/// connection into live managed objects and the rest. Never triggered by the throughput harness. Linked into both
/// .NET servers (HyperionBench and the Kestrel peer) so they report the same way.
/// </summary>
internal static class HeapReport
{
    private const int SigUsr1 = 10;   // Linux x86-64 / arm64 signal number

    public static PosixSignalRegistration Register() => PosixSignalRegistration.Create((PosixSignal)SigUsr1, context =>
    {
        context.Cancel = true;
        long live = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"heap live_bytes={live}"));
    });
}
