using System.Globalization;
using System.Net;
using System.Runtime;
using Hyperion;
using Hyperion.Bench;
using Hyperion.Grpc;
using Hyperion.Samples.Greet;

// bench/HyperionGrpc: the Hyperion target for bench/grpc.sh: samples/Grpc's Greeter (same proto, same service source
// as bench/peers/KestrelGrpc) on Hyperion.Grpc.
// --h2c-port N: an HTTP/2-only cleartext listener (as the Kestrel peer's). --tls-port N --tls-cert FILE --tls-key FILE
// (PEM): a TLS listener, h2 chosen by ALPN. --transport sockets|iouring|epoll|auto, --loops N (default 1: the bench
// pins the server to one core). SIGUSR2 prints the process's allocated bytes (the allocation-per-call row).
int h2cPort = 0;
int tlsPort = 0;
int loops = 1;
string? tlsCert = null, tlsKey = null;
TransportKind transport = TransportKind.Auto;
for (int i = 0; i < args.Length - 1; i++)
{
    switch (args[i])
    {
        case "--h2c-port":
            h2cPort = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            break;
        case "--tls-port":
            tlsPort = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            break;
        case "--tls-cert":
            tlsCert = args[i + 1];
            break;
        case "--tls-key":
            tlsKey = args[i + 1];
            break;
        case "--loops":
            loops = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            break;
        case "--transport":
            transport = Hyperion.Bench.BenchArguments.Transport(args[i + 1]);
            break;
    }
}

var options = new HyperionOptions { Transport = transport, LoopCount = loops };
if (h2cPort > 0)
{
    options.Listen(IPAddress.Loopback, h2cPort, HttpProtocols.Http2);
}

if (tlsPort > 0)
{
    options.ListenTls(IPAddress.Loopback, tlsPort,
        tlsCert ?? throw new ArgumentException("--tls-port needs --tls-cert"), tlsKey ?? throw new ArgumentException("--tls-port needs --tls-key"));
}

var server = new HyperionServer(options);
server.AddGrpcService(new GreeterService());
using var allocationReport = AllocationReport.Register();
await server.StartAsync();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"HyperionGrpc listening: h2c port {h2cPort}, TLS port {tlsPort}; transport={server.ActiveTransport} (requested {transport}, loops {loops}); IsServerGC={GCSettings.IsServerGC}"));
await server.RunAsync();
