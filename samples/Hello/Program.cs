using System.Globalization;
using Hyperion;

// samples/Hello: one route of each kind plus a Rack app, all answering "Hello, World!".
int port = 9292;
for (int i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--port")
    {
        port = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
    }
}

var server = new HyperionServer(new HyperionOptions { Port = port });

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

internal sealed class HelloHandler : IRequestHandler
{
    public ValueTask<RackResponse> HandleAsync(Request request)
        => ValueTask.FromResult(RackResponse.Text(200, "Hello, World!", "text/plain"));
}
