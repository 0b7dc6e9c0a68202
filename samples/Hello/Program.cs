using System.Globalization;
using Hyperion;

// samples/Hello: one route of each kind plus a Rack app, all answering "Hello, World!".
// --port N (default 9292); --tls-cert FILE --tls-key FILE (PEM) serve HTTPS instead of cleartext on that port.
int port = 9292;
string? tlsCert = null;
string? tlsKey = null;
for (int i = 0; i < args.Length - 1; i++)
{
    switch (args[i])
    {
        case "--port":
            port = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            break;
        case "--tls-cert":
            tlsCert = args[i + 1];
            break;
        case "--tls-key":
            tlsKey = args[i + 1];
            break;
    }
}

var options = new HyperionOptions { Port = port };
if (tlsCert is not null || tlsKey is not null)
{
    if (tlsCert is null || tlsKey is null)
    {
        Console.Error.WriteLine("--tls-cert and --tls-key go together");
        return 2;
    }

    options.UseTls(tlsCert, tlsKey);
}

var server = new HyperionServer(options);

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
await server.RunAsync();
return 0;

internal sealed class HelloHandler : IRequestHandler
{
    public ValueTask<RackResponse> HandleAsync(Request request)
        => ValueTask.FromResult(RackResponse.Text(200, "Hello, World!", "text/plain"));
}
