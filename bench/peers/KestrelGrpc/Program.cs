using System.Globalization;
using System.Runtime;
using System.Security.Cryptography.X509Certificates;
using Hyperion.Bench;
using Hyperion.Samples.Greet;
using Microsoft.AspNetCore.Server.Kestrel.Core;

// bench/peers/KestrelGrpc: the gRPC reference peer for bench/grpc.sh: Kestrel + Grpc.AspNetCore.Server serving
// samples/Grpc's Greeter (same proto, same service source as bench/HyperionGrpc).
// --h2c-port N: an HTTP/2-only cleartext listener (prior knowledge; Kestrel needs Http2-only without TLS).
// --tls-port N --tls-cert FILE --tls-key FILE (PEM): a TLS listener, h2 chosen by ALPN.
// SIGUSR2 prints the process's allocated bytes (bench/grpc.sh's allocation-per-call row).
int h2cPort = 0;
int tlsPort = 0;
string? tlsCert = null, tlsKey = null;
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
    }
}

WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    if (h2cPort > 0)
    {
        kestrel.ListenLocalhost(h2cPort, listen => listen.Protocols = HttpProtocols.Http2);
    }

    if (tlsPort > 0)
    {
        var certificate = X509Certificate2.CreateFromPemFile(
            tlsCert ?? throw new ArgumentException("--tls-port needs --tls-cert"), tlsKey ?? throw new ArgumentException("--tls-port needs --tls-key"));
        kestrel.ListenLocalhost(tlsPort, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(certificate);
        });
    }
});
builder.Services.AddGrpc();

using var allocationReport = AllocationReport.Register();
WebApplication app = builder.Build();
app.MapGrpcService<GreeterService>();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"KestrelGrpc listening: h2c port {h2cPort}, TLS port {tlsPort}; IsServerGC={GCSettings.IsServerGC}"));
app.Run();
