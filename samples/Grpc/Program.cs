using Hyperion;
using Hyperion.Grpc;
using Hyperion.Samples.Greet;

// samples/Grpc: the Greeter from Protos/greet.proto (unary, server streaming, client streaming, bidi) on Hyperion.
// --port N (default 9292); --tls-cert FILE --tls-key FILE (PEM) for TLS (h2 by ALPN), else h2c (prior knowledge).
if (SampleOptions.Parse(args) is not { } options)
{
    return 2;
}

var server = new HyperionServer(options);
server.AddGrpcService(new GreeterService());

await server.StartAsync();
Console.WriteLine($"Greeter listening on {server.BaseAddress} (gRPC over {(server.BaseAddress.Scheme == "https" ? "h2" : "h2c")}); Ctrl+C stops");
await server.RunAsync();
return 0;
