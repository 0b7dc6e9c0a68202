using System.Globalization;
using GrpcLoad;

// bench/tools/GrpcLoad: a load client on Grpc.Net.Client for bench/grpc.sh's gRPC rows (samples/Grpc's Greeter).
//   GrpcLoad --url http://127.0.0.1:PORT --mode unary|server-stream|bidi [--connections 4] [--concurrency 16]
//            [--duration 5] [--warmup 0] [--messages 100] [--calls N]
// --connections: HTTP/2 connections (one GrpcChannel each); --concurrency: calls in flight on each connection.
// unary: SayHello, latency per call. server-stream: SayHellos with --messages replies per call, latency per call.
// bidi: one Chat call per worker, ping-pong (write one request, read its reply), latency per round trip.
// --calls N: stop after N calls (unary) instead of after --duration.
// --server-pid PID: also report that process's CPU seconds (utime + stime from /proc) over the measured window only,
// so the client's own start-up and --warmup are not charged to the server.
// https:// URLs accept any server certificate: the bench's is a throwaway self-signed one on 127.0.0.1.
// Prints one line: calls, messages, seconds, calls_per_s, messages_per_s, p50/p95/p99 in ms, server_cpu_s and
// client_cpu_s, errors and statuses (every call's final grpc-status, or the client-side exception's type).
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
        case "--server-pid": settings.ServerPid = int.Parse(value, CultureInfo.InvariantCulture); break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}");
            return 2;
    }
}

if (settings.Calls > 0 && settings.Mode != "unary")
{
    Console.Error.WriteLine("--calls bounds unary runs only; streaming runs are bounded by --duration");
    return 2;
}

if (settings.Url is null || settings.Mode is not ("unary" or "server-stream" or "bidi"))
{
    Console.Error.WriteLine("usage: GrpcLoad --url URL --mode unary|server-stream|bidi [--connections N] [--concurrency N] [--duration S] [--warmup S] [--messages N] [--calls N]");
    return 2;
}

using var run = new LoadRun(settings);
if (settings.Warmup > TimeSpan.Zero)
{
    await run.RunAsync(settings.Warmup, callLimit: 0, serverPid: 0);
}

LoadResult result = await run.RunAsync(settings.Duration, settings.Calls, settings.ServerPid);
Console.WriteLine(result.Format());
return result.Errors == 0 ? 0 : 1;
