using Hyperion;
using TodoSample;

// samples/Todo: a small JSON API written the natural way: route templates, the JSON helpers, middleware (CORS,
// compression, an API key), static files and a stream. Its tests (samples/Todo.Tests) run it on the in-process client.
// --port N (default 9292), --tls-cert FILE --tls-key FILE, --protocols http1|http2|both (as every sample);
// --origin URL (repeatable) allows a browser origin; --api-key KEY requires x-api-key on writes.
if (SampleOptions.Parse(args) is not { } options)
{
    return 2;
}

var settings = new TodoApi.Settings { AssetsDirectory = Path.Combine(AppContext.BaseDirectory, "wwwroot") };
for (int i = 0; i < args.Length - 1; i++)
{
    switch (args[i])
    {
        case "--origin":
            settings.AllowedOrigins.Add(args[i + 1]);
            break;
        case "--api-key":
            settings.ApiKey = args[i + 1];
            break;
    }
}

var server = new HyperionServer(options);
server.UseHttp2();
TodoApi.Map(server, new TodoStore(), settings);
await server.StartAsync();
Console.WriteLine($"Todo API on {server.BaseAddress}todos (and {server.BaseAddress}assets/); Ctrl+C stops");
await server.RunAsync();
return 0;
