using GrpcInterop;
using Hyperion;
using Hyperion.Grpc;

// samples/GrpcInterop: grpc's interop TestService (doc/interop-test-descriptions.md) on Hyperion.Grpc, for any
// stack's interop client. --port N (default 9292; also --port=N); --use_tls with --tls-cert FILE --tls-key FILE (PEM)
// serves h2 over TLS instead of h2c; --protocols http1|http2|both (default http2: a gRPC port speaks only HTTP/2).
// grpc.testing.UnimplementedService is deliberately not registered: calls to it get UNIMPLEMENTED.
if (InteropArguments.Parse(args) is not { } options)
{
    return 2;
}

var server = new HyperionServer(options);
server.UseHttp2();
server.AddGrpcService(new InteropTestService(context => context.WasLastRequestMessageCompressed()));

await server.StartAsync();
Console.WriteLine($"Hyperion GrpcInterop listening on {server.BaseAddress}; Ctrl+C stops");
await server.RunAsync();
return 0;
