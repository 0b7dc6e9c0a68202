using System.Globalization;
using System.Runtime;
using System.Text.Json;
using Hyperion;
using Hyperion.Bench;
using HyperionBench;

// bench/HyperionBench: the Hyperion target for bench/run.sh, bench/memory.sh and bench/soak.sh.
// Same response bytes as bench/peers/KestrelHello:
//   /hello  HandleStatic (pre-built bytes)            /dyn  dynamic-block Handle
//   /json   dynamic-block Handle, System.Text.Json serialisation per request (the "work" row)
//   /static16k  HandleStatic, a 16 KiB body (bench/abuse.sh's clients that never read)
//   /todos/{id}  a route template answering {"id":<id>,"title":"Write the bench","done":false} (RackResponse.Json)
//   other   the Rack app (run.sh uses /app)
//   with --mw-port N (run.sh's api-mw row): a second server in this process on port N with /todos/{id} behind
//   ResponseCompression and Cors, configured as the Kestrel peer's UseResponseCompression + UseCors defaults
//   with --files DIR (bench/files.sh): /file/1m and /file/100m are RackResponse.File of DIR/1m.bin and DIR/100m.bin
//   (sendfile on the loop transports), /copy/1m and /copy/100m stream the same files through user memory.
int port = 8080;
string? filesDir = null;
TransportKind transport = TransportKind.Sockets;
int loops = 1;
int tlsPort = 0;
int mwPort = 0;
string? tlsCert = null, tlsKey = null;
for (int i = 0; i < args.Length - 1; i++)
{
    switch (args[i])
    {
        case "--port":
            port = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            break;
        case "--transport":
            transport = Hyperion.Bench.BenchArguments.Transport(args[i + 1]);
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
        case "--files":
            filesDir = args[i + 1];
            break;
        case "--mw-port":
            mwPort = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            break;
    }
}

// One loop by default: run.sh pins the server to one core, and a second ring thread would only contend for it.
var options = new HyperionOptions { Port = port, Transport = transport, LoopCount = loops };
if (tlsPort != 0)
{
    // --tls-port N --tls-cert FILE --tls-key FILE: HTTPS on a second port beside the cleartext one (bench/soak.sh --mixed).
    options.Listen(options.Address, port).ListenTls(options.Address, tlsPort,
        tlsCert ?? throw new ArgumentException("--tls-port needs --tls-cert"), tlsKey ?? throw new ArgumentException("--tls-port needs --tls-key"));
}

var server = new HyperionServer(options);

// h2c on the same port (prior knowledge), for run.sh's HTTP/2 rows against Kestrel's h2c listener.
server.UseHttp2();

const string ContentType = "text/plain";
const string JsonContentType = "application/json; charset=utf-8";
server.HandleStatic("GET", "/hello", "Hello, World!", contentType: ContentType);
server.HandleStatic("GET", "/static16k", new string('x', 16 * 1024), contentType: ContentType);
server.Handle("GET", "/dyn", env => RackResponse.Text(200, "Hello, World!", ContentType));
server.Handle("GET", "/json", env =>
    RackResponse.Bytes(200, JsonSerializer.SerializeToUtf8Bytes(new Message("Hello, World!"), BenchJsonContext.Default.Message), JsonContentType));
if (filesDir is not null)
{
    foreach (var name in new[] { "1m", "100m" })
    {
        string path = Path.GetFullPath(Path.Combine(filesDir, name + ".bin"));
        server.Handle("GET", "/file/" + name, env => RackResponse.File(200, null, path));
        long length = new FileInfo(path).Length;
        server.Handle("GET", "/copy/" + name, env => RackResponse.Streaming(200, [("Content-Length", length.ToString(CultureInfo.InvariantCulture))], async body =>
        {
            await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = await file.ReadAsync(buffer)) > 0)
            {
                await body.WriteAsync(buffer.AsMemory(0, n));
            }
        }));
    }
}

server.Run(env => ValueTask.FromResult(RackResponse.Text(200, "Hello, World!", ContentType)));
MapTodos(server);

HyperionServer? mwServer = null;
if (mwPort != 0)
{
    mwServer = new HyperionServer(new HyperionOptions { Port = mwPort, Transport = transport, LoopCount = loops });
    // As ASP.NET Core's defaults, which the Kestrel peer uses: Brotli then gzip at the fastest level, and no minimum
    // size (ours defaults to 1 KiB, which would skip this small body and compare less work).
    mwServer.Use(new ResponseCompression(new ResponseCompressionOptions { MinimumSize = 0 }));
    var cors = new CorsOptions();
    cors.AllowedOrigins.Add(BenchCors.Origin);
    cors.ExposedHeaders.Add("x-request-id");
    mwServer.Use(new Cors(cors));
    MapTodos(mwServer);
}

using var heapReport = Hyperion.Bench.HeapReport.Register();
await server.StartAsync();
if (mwServer is not null)
{
    await mwServer.StartAsync();
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"HyperionBench listening on {server.BaseAddress}; transport={server.ActiveTransport} (requested {transport}, loops {loops}); IsServerGC={GCSettings.IsServerGC}"));
await server.RunAsync();
if (mwServer is not null)
{
    await mwServer.StopAsync();
}

static void MapTodos(HyperionServer server) => server.Handle("GET", "/todos/{id}", env =>
    RackResponse.Json(200, new Todo(env.RouteValues.GetInt32("id"), "Write the bench", false), BenchJsonContext.Default.Todo));
