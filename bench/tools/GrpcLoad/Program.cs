using System.Globalization;
using GrpcLoad;

// bench/tools/GrpcLoad: the load client for bench/grpc.sh's gRPC rows (samples/Grpc's Greeter).
//   GrpcLoad --url http://127.0.0.1:PORT --mode unary|server-stream|bidi [--client net|raw] [--connections 4]
//            [--concurrency 16] [--duration 5] [--warmup 0] [--messages 100] [--rounds 0] [--calls N]
// --client net (default): Grpc.Net.Client, the client .NET users call gRPC with; one GrpcChannel per connection.
// --client raw: the tool's own HTTP/2 client (Raw/: h2c prior knowledge, one thread and one blocking socket per
// connection, every receive parsed whole and answered with one send), light enough that the server, not the client,
// fills its core. It judges each call by its trailers' grpc-status, its reply count and the replies' bytes.
// --connections: HTTP/2 connections; --concurrency: calls in flight on each connection.
// unary: SayHello, latency per call. server-stream: SayHellos with --messages replies per call, latency per call.
// bidi: Chat ping-pong (write one request, read its reply), latency per round trip; net: one call per worker for the
// whole run; raw: --rounds round trips per call (0: the whole run).
// --calls N: stop after N calls (net: unary only) instead of after --duration (raw: whichever comes first).
// --server-pid PID: also report that process's CPU seconds (utime + stime from /proc) over the measured window only,
// so the client's own start-up and --warmup are not charged to the server.
// https:// URLs accept any server certificate: the bench's is a throwaway self-signed one on 127.0.0.1.
// Prints one line: calls, messages, seconds, calls_per_s, messages_per_s, p50/p95/p99 in ms, server_cpu_s and
// client_cpu_s, errors and statuses (every call's final grpc-status by name, or "client:..." for a call the client
// failed: a wrong reply count or reply, no trailers, RST_STREAM ("rst-stream:CODE"), GOAWAY, a lost connection).
var settings = new LoadSettings();
for (int i = 0; i < args.Length - 1; i += 2)
{
    string value = args[i + 1];
    switch (args[i])
    {
        case "--url": settings.Url = new Uri(value); break;
        case "--mode": settings.Mode = value; break;
        case "--connections": settings.Connections = int.Parse(value, CultureInfo.InvariantCulture); break;
        case "--concurrency": settings.Concurrency = int.Parse(value, CultureInfo.InvariantCulture); break;
        case "--duration": settings.Duration = TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture)); break;
        case "--warmup": settings.Warmup = TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture)); break;
        case "--messages": settings.Messages = int.Parse(value, CultureInfo.InvariantCulture); break;
        case "--calls": settings.Calls = long.Parse(value, CultureInfo.InvariantCulture); break;
        case "--client": settings.Client = value; break;
        case "--rounds": settings.Rounds = int.Parse(value, CultureInfo.InvariantCulture); break;
        case "--server-pid": settings.ServerPid = int.Parse(value, CultureInfo.InvariantCulture); break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}");
            return 2;
    }
}

if (settings.Calls > 0 && settings.Mode != "unary" && settings.Client == "net")
{
    Console.Error.WriteLine("--calls bounds unary runs only; streaming runs are bounded by --duration");
    return 2;
}

if (settings.Url is null || settings.Mode is not ("unary" or "server-stream" or "bidi") || settings.Client is not ("net" or "raw"))
{
    Console.Error.WriteLine("usage: GrpcLoad --url URL --mode unary|server-stream|bidi [--client net|raw] [--connections N] [--concurrency N] [--duration S] [--warmup S] [--messages N] [--rounds N] [--calls N]");
    return 2;
}

if (settings.Client == "raw")
{
    using var raw = new RawGrpcRun(settings.Url, GreeterPlans.For(settings.Mode, settings.Messages, settings.Rounds), settings.Connections, settings.Concurrency);
    if (settings.Warmup > TimeSpan.Zero)
    {
        raw.Run(settings.Warmup, callLimit: 0, serverPid: 0);
    }

    LoadResult rawResult = raw.Run(settings.Duration, settings.Calls, settings.ServerPid);
    Console.WriteLine(rawResult.Format());
    return rawResult.Errors == 0 ? 0 : 1;
}

using var run = new LoadRun(settings);
if (settings.Warmup > TimeSpan.Zero)
{
    await run.RunAsync(settings.Warmup, callLimit: 0, serverPid: 0);
}

LoadResult result = await run.RunAsync(settings.Duration, settings.Calls, settings.ServerPid);
Console.WriteLine(result.Format());
return result.Errors == 0 ? 0 : 1;
