using System.Globalization;
using System.Text;
using System.Text.Json;
using Hyperion;

namespace TodoSample;

/// <summary>
/// The to-do API, registered on any server: the sample's Main and its tests (on the in-process client) call the same
/// <see cref="Map"/>, so the tests exercise exactly what the program serves.
/// </summary>
public static class TodoApi
{
    /// <summary>What <see cref="Map"/> configures besides the routes.</summary>
    public sealed class Settings
    {
        /// <summary>Browser origins allowed to call the API (CORS); none by default.</summary>
        public List<string> AllowedOrigins { get; } = [];

        /// <summary>When set, POST, PATCH and DELETE need the header <c>x-api-key</c> with this value.</summary>
        public string? ApiKey { get; set; }

        /// <summary>The directory served under <c>/assets/</c>; null serves none.</summary>
        public string? AssetsDirectory { get; set; }
    }

    public static void Map(HyperionServer server, TodoStore store, Settings settings)
    {
        // Middleware, outermost first: CORS answers preflights before anything else runs, compression wraps every
        // response the routes return, and the key check refuses writes without the key.
        if (settings.AllowedOrigins.Count > 0)
        {
            var cors = new CorsOptions { PreflightMaxAge = TimeSpan.FromMinutes(10) };
            foreach (var origin in settings.AllowedOrigins)
            {
                cors.AllowedOrigins.Add(origin);
            }

            foreach (var method in new[] { "PATCH", "DELETE" })
            {
                cors.AllowedMethods.Add(method);
            }

            cors.AllowedHeaders.Add("content-type");
            cors.AllowedHeaders.Add("x-api-key");
            cors.ExposedHeaders.Add("location");
            server.Use(new Cors(cors));
        }

        server.Use(new ResponseCompression());
        if (settings.ApiKey is { } key)
        {
            server.Use(next => env => env.Method is "GET" or "HEAD" || env.Headers.Get("x-api-key") == key
                ? next(env)
                : ValueTask.FromResult(RackResponse.Text(401, "an x-api-key header is needed to change items")));
        }

        server.Handle("GET", "/todos", env =>
        {
            bool? done = env.Query["done"] switch
            {
                null => null,
                "true" => true,
                "false" => false,
                _ => throw new HttpStatusException(400, "done must be true or false"),
            };
            return RackResponse.Json(200, store.List(done, env.Query["q"]), TodoJson.Default.ListTodo);
        });

        server.Handle("GET", "/todos/{id}", env =>
            store.Get(IdOf(env)) is { } todo
                ? RackResponse.Json(200, todo, TodoJson.Default.Todo)
                : RackResponse.Text(404, "no such item"));

        server.Handle("POST", "/todos", async env =>
        {
            var input = await env.ReadJsonAsync(TodoJson.Default.TodoInput);
            if (string.IsNullOrWhiteSpace(input?.Title))
            {
                return RackResponse.Text(400, "title is required");
            }

            var todo = store.Add(input.Title, input.Done ?? false);
            return RackResponse.Json(201, todo, TodoJson.Default.Todo)
                .WithHeader("location", "/todos/" + todo.Id.ToString(CultureInfo.InvariantCulture));
        });

        server.Handle("PATCH", "/todos/{id}", async env =>
        {
            int id = IdOf(env);
            var input = await env.ReadJsonAsync(TodoJson.Default.TodoInput) ?? new TodoInput(null, null);
            return store.Update(id, input) is { } todo
                ? RackResponse.Json(200, todo, TodoJson.Default.Todo)
                : RackResponse.Text(404, "no such item");
        });

        server.Handle("DELETE", "/todos/{id}", env =>
            store.Remove(IdOf(env)) ? RackResponse.Empty(204) : RackResponse.Text(404, "no such item"));

        // A stream: one JSON line per item, each flushed as it is written (and compressed as it flows when the
        // client accepts it), until the list ends or the client goes away.
        server.Handle("GET", "/todos/export", env =>
        {
            var items = store.List(done: null, search: null);
            var aborted = env.RequestAborted;
            return RackResponse.Streaming(200, [("content-type", "application/x-ndjson")], async body =>
            {
                foreach (var todo in items)
                {
                    aborted.ThrowIfCancellationRequested();
                    await body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(todo, TodoJson.Default.Todo));
                    await body.WriteAsync("\n"u8.ToArray());
                    await body.FlushAsync();
                }
            });
        });

        if (settings.AssetsDirectory is { } assets)
        {
            server.MapFiles("/assets", assets);
        }

        server.HandleStatic("GET", "/health", "ok");
    }

    /// <summary>The item id in the path; a segment that is not a number names no item (0 is never an id).</summary>
    private static int IdOf(RackEnv env) => env.RouteValues.TryGetInt32("id", out int id) ? id : 0;
}
