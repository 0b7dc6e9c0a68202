using Hyperion;

// samples/Hello: one route of each kind plus a Rack app, all answering "Hello, World!".
// --port N (default 9292); --tls-cert FILE --tls-key FILE (PEM) serve HTTPS instead of cleartext on that port;
// --protocols http1|http2|both (default both): http2 is an HTTP/2-only port (h2c by prior knowledge, or h2 alone in ALPN).
if (SampleOptions.Parse(args) is not { } options)
{
    return 2;
}

var server = new HyperionServer(options);

// HTTP/2 besides HTTP/1.1 (unless --protocols says otherwise): h2c (prior knowledge or Upgrade) in cleartext, h2 through ALPN with TLS.
server.UseHttp2();

// static: response bytes built once, here.
server.HandleStatic("GET", "/static", "Hello, World!", contentType: "text/plain");

// dynamic-block: a delegate over the env, run inline on the connection's loop.
server.Handle("GET", "/dynamic", env => RackResponse.Text(200, "Hello, World!", "text/plain"));

// legacy: a handler over a fully parsed Request.
server.Handle("GET", "/legacy", new HelloHandler());

// everything else: the Rack-like app.
server.Run(env => ValueTask.FromResult(RackResponse.Text(200, "Hello, World!", "text/plain")));

await server.StartAsync();
Console.WriteLine($"Hyperion listening on {server.BaseAddress} (try {server.BaseAddress}static, /dynamic, /legacy, /app); Ctrl+C stops");
if (options.Protocols == HttpProtocols.Http2)
{
    Console.WriteLine($"HTTP/2 only: try {(server.BaseAddress.Scheme == "https" ? "curl -k --http2" : "curl --http2-prior-knowledge")} {server.BaseAddress}static");
}

await server.RunAsync();
return 0;

internal sealed class HelloHandler : IRequestHandler
{
    public ValueTask<RackResponse> HandleAsync(Request request)
        => ValueTask.FromResult(RackResponse.Text(200, "Hello, World!", "text/plain"));
}
