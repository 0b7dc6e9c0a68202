using System.Globalization;
using System.Runtime;
using Hyperion.Bench;
using KestrelHello;
using Microsoft.AspNetCore.Server.Kestrel.Core;

// bench/peers/KestrelHello: the ASP.NET Core reference peer for bench/run.sh and bench/memory.sh.
// Same response bytes as bench/HyperionBench: /hello is text/plain "Hello, World!", /json is {"message":"Hello, World!"},
// /todos/{id} is {"id":<id>,"title":"Write the bench","done":false} (a route template with a typed parameter).
// --mw-port N: a second listener whose requests pass through UseResponseCompression + UseCors (the middleware row);
// the first listener's requests skip both, so the same process serves the plain and the middleware rows.
int port = 8081;
int h2cPort = 0;
int mwPort = 0;
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
        case "--mw-port":
            mwPort = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
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

    if (mwPort > 0)
    {
        kestrel.ListenLocalhost(mwPort, listen => listen.Protocols = HttpProtocols.Http1);
    }
});
if (mwPort > 0)
{
    // ASP.NET Core's defaults: Brotli then gzip, CompressionLevel.Fastest, no minimum size.
    builder.Services.AddResponseCompression();
    builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy => policy.WithOrigins(BenchCors.Origin).WithExposedHeaders("x-request-id")));
}

builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, PeerJsonContext.Default));

using var heapReport = Hyperion.Bench.HeapReport.Register();
WebApplication app = builder.Build();
if (mwPort > 0)
{
    app.UseWhen(ctx => ctx.Connection.LocalPort == mwPort, branch =>
    {
        branch.UseResponseCompression();
        branch.UseCors();
    });
}

app.MapGet("/hello", () => Results.Text("Hello, World!", "text/plain"));
app.MapGet("/json", () => new Message("Hello, World!"));
app.MapGet("/todos/{id}", (int id) => new Todo(id, "Write the bench", false));
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
    $"KestrelHello listening on http://127.0.0.1:{port}/ (h2c port {(h2cPort > 0 ? h2cPort.ToString(CultureInfo.InvariantCulture) : "off")}, middleware port {(mwPort > 0 ? mwPort.ToString(CultureInfo.InvariantCulture) : "off")}); IsServerGC={GCSettings.IsServerGC}"));
app.Run();
