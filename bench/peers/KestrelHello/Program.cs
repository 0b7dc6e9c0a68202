using System.Globalization;
using System.Runtime;
using KestrelHello;
using Microsoft.AspNetCore.Server.Kestrel.Core;

// bench/peers/KestrelHello: the ASP.NET Core reference peer for bench/run.sh and bench/memory.sh.
// Same response bytes as bench/HyperionBench: /hello is text/plain "Hello, World!", /json is {"message":"Hello, World!"}.
int port = 8081;
int h2cPort = 0;
string? filesDir = null;
for (int i = 0; i < args.Length - 1; i++)
{
    switch (args[i])
    {
        case "--port":
            port = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            break;
        case "--h2c-port":
            h2cPort = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            break;
        case "--files":
            filesDir = args[i + 1];
            break;
    }
}

WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.ListenLocalhost(port, listen => listen.Protocols = HttpProtocols.Http1);
    if (h2cPort > 0)
    {
        // Cleartext HTTP/2 needs an Http2-only endpoint: without TLS there is no ALPN to choose with.
        kestrel.ListenLocalhost(h2cPort, listen => listen.Protocols = HttpProtocols.Http2);
    }
});
builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, PeerJsonContext.Default));

using var heapReport = Hyperion.Bench.HeapReport.Register();
WebApplication app = builder.Build();
app.MapGet("/hello", () => Results.Text("Hello, World!", "text/plain"));
app.MapGet("/json", () => new Message("Hello, World!"));
if (filesDir is not null)
{
    // bench/files.sh: the same files as HyperionBench's /file/1m and /file/100m.
    foreach (var name in new[] { "1m", "100m" })
    {
        string path = Path.GetFullPath(Path.Combine(filesDir, name + ".bin"));
        app.MapGet("/file/" + name, () => TypedResults.PhysicalFile(path, "application/octet-stream"));
    }
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"KestrelHello listening on http://127.0.0.1:{port}/ (h2c port {(h2cPort > 0 ? h2cPort.ToString(CultureInfo.InvariantCulture) : "off")}); IsServerGC={GCSettings.IsServerGC}"));
app.Run();
