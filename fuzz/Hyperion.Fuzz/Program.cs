using Hyperion.Fuzz.Targets;
using SharpFuzz;

// dotnet Hyperion.Fuzz.dll TARGET            under afl-fuzz (fuzz/run.sh): AFL persistent mode
// dotnet Hyperion.Fuzz.dll TARGET FILE...    replay inputs without AFL (triage; the same code the tests run)
// dotnet Hyperion.Fuzz.dll drift DIR         h2headers inputs HTTP/2 accepts and HTTP/1.1 rejects (see Drift.cs)
if (args.Length == 0)
{
    Console.Error.WriteLine($"usage: Hyperion.Fuzz TARGET [FILE...]   targets: {string.Join(", ", FuzzTargets.Names)}");
    return 2;
}

if (args[0] == "drift" && args.Length == 2)
{
    return Hyperion.Fuzz.Drift.Run(args[1]);
}

if (Array.IndexOf(FuzzTargets.Names, args[0]) < 0)
{
    Console.Error.WriteLine($"unknown target '{args[0]}'; known: {string.Join(", ", FuzzTargets.Names)}");
    return 2;
}

if (args.Length > 1)
{
    var replay = FuzzTargets.Create(args[0]);
    int failed = 0;
    foreach (var file in args.Skip(1))
    {
        try
        {
            replay.Run(File.ReadAllBytes(file));
            Console.WriteLine($"ok    {file}");
        }
        catch (Exception ex)
        {
            failed++;
            Console.WriteLine($"FAIL  {file}: {ex}");
        }
    }

    return failed == 0 ? 0 : 1;
}

// Persistent mode: one process runs many inputs, and every unhandled exception is reported to AFL as a crash.
// The instrumented product code writes to AFL's coverage map, which exists only once Fuzzer.Run has attached it:
// so the target (which constructs product objects) is made inside the first call, never before.
// One thread-pool thread (fuzz/run.sh sets DOTNET_PROCESSOR_COUNT=1, below which the pool cannot be capped): work
// the product queues runs in turn, not concurrently, so the coverage trace stays meaningful (ConnectionDriver).
if (!ThreadPool.SetMinThreads(1, 1) || !ThreadPool.SetMaxThreads(1, 1))
{
    Console.Error.WriteLine("could not cap the thread pool at one thread; set DOTNET_PROCESSOR_COUNT=1");
    return 2;
}

byte[] buffer = new byte[1 << 16];
IFuzzTarget? target = null;
Fuzzer.Run(stream =>
{
    target ??= FuzzTargets.Create(args[0]);
    int length = 0;
    int n;
    while (length < buffer.Length && (n = stream.Read(buffer, length, buffer.Length - length)) > 0)
    {
        length += n;
    }

    target.Run(buffer.AsSpan(0, length));
});
return 0;
