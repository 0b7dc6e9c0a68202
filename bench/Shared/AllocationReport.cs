using System.Globalization;
using System.Runtime.InteropServices;

namespace Hyperion.Bench;

/// <summary>
/// On SIGUSR2, prints the bytes this process has allocated so far (every thread): bench/grpc.sh reads it before and
/// after a fixed number of calls to state allocation per call. Linked into both gRPC servers so they report alike;
/// outside the request path, so it changes nothing it measures.
/// </summary>
internal static class AllocationReport
{
    private const int SigUsr2 = 12;   // Linux x86-64 / arm64 signal number

    public static PosixSignalRegistration Register() => PosixSignalRegistration.Create((PosixSignal)SigUsr2, context =>
    {
        context.Cancel = true;
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"alloc total_bytes={allocated}"));
    });
}
