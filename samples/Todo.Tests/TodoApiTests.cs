using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Hyperion;
using TodoSample;

namespace Todo.Tests;

/// <summary>
/// The sample's own tests, as a user of Hyperion would write them: the API on a server that is never started,
/// called through <see cref="HyperionServer.CreateClient"/> (the same connection code as the sockets, no port).
/// </summary>
public sealed class TodoApiTests : IAsyncDisposable
{
    private readonly HyperionServer _server = new();
    private readonly HttpClient _client;
    private readonly string _assets = Directory.CreateTempSubdirectory("todo-assets-").FullName;

    public TodoApiTests()
    {
        File.WriteAllText(Path.Combine(_assets, "index.html"), "<h1>Todo</h1>");
        var settings = new TodoApi.Settings { ApiKey = "k", AssetsDirectory = _assets };
        settings.AllowedOrigins.Add("https://app.example");
        TodoApi.Map(_server, new TodoStore(), settings);
        _client = _server.CreateClient();
        _client.DefaultRequestHeaders.Add("x-api-key", "k");
    }

    [Fact]
    public async Task Create_get_list_update_and_delete_an_item()
    {
        using var created = await _client.PostAsJsonAsync("/todos", new TodoInput("write tests", null), TodoJson.Default.TodoInput);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var todo = await created.Content.ReadFromJsonAsync(TodoJson.Default.Todo);
        Assert.Equal(new TodoSample.Todo(1, "write tests", false), todo);
        Assert.Equal("/todos/1", created.Headers.Location?.OriginalString);

        Assert.Equal(todo, await _client.GetFromJsonAsync("/todos/1", TodoJson.Default.Todo));

        using var patched = await _client.PatchAsJsonAsync("/todos/1", new TodoInput(null, true), TodoJson.Default.TodoInput);
        Assert.Equal(new TodoSample.Todo(1, "write tests", true), await patched.Content.ReadFromJsonAsync(TodoJson.Default.Todo));

        await _client.PostAsJsonAsync("/todos", new TodoInput("ship it", null), TodoJson.Default.TodoInput);
        var open = await _client.GetFromJsonAsync("/todos?done=false", TodoJson.Default.ListTodo);
        Assert.Equal(["ship it"], open!.Select(t => t.Title));
        var found = await _client.GetFromJsonAsync("/todos?q=TEST", TodoJson.Default.ListTodo);
        Assert.Equal([1], found!.Select(t => t.Id));

        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync("/todos/1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/todos/1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.DeleteAsync("/todos/1")).StatusCode);
    }

    [Fact]
    public async Task Bad_requests_get_precise_statuses()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/todos/abc")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _client.GetAsync("/todos?done=maybe")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _client.PostAsync("/todos", new StringContent("{\"title\":", Encoding.UTF8, "application/json"))).StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await _client.PostAsync("/todos", new StringContent("title=x", Encoding.UTF8, "text/plain"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _client.PostAsJsonAsync("/todos", new TodoInput(" ", null), TodoJson.Default.TodoInput)).StatusCode);

        using var put = await _client.PutAsync("/todos/1", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, put.StatusCode);
        Assert.Equal(["GET", "HEAD", "PATCH", "DELETE"], put.Content.Headers.Allow);
    }

    [Fact]
    public async Task Writes_need_the_api_key_and_reads_do_not()
    {
        using var anonymous = _server.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/todos", new TodoInput("x", null), TodoJson.Default.TodoInput)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/todos")).StatusCode);
    }

    [Fact]
    public async Task A_browser_preflight_is_answered_and_responses_carry_the_origin()
    {
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/todos/1");
        preflight.Headers.Add("Origin", "https://app.example");
        preflight.Headers.Add("Access-Control-Request-Method", "DELETE");
        preflight.Headers.Add("Access-Control-Request-Headers", "x-api-key");
        using var answer = await _client.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        Assert.Equal("https://app.example", Assert.Single(answer.Headers.GetValues("Access-Control-Allow-Origin")));

        using var get = new HttpRequestMessage(HttpMethod.Get, "/todos");
        get.Headers.Add("Origin", "https://other.example");
        using var refused = await _client.SendAsync(get);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Large_lists_are_compressed_for_clients_that_ask_and_the_export_streams_every_item()
    {
        for (int i = 0; i < 100; i++)
        {
            await _client.PostAsJsonAsync("/todos", new TodoInput($"item number {i}", null), TodoJson.Default.TodoInput);
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, "/todos");
        request.Headers.Add("Accept-Encoding", "gzip");
        using var response = await _client.SendAsync(request);
        Assert.Equal(["gzip"], response.Content.Headers.ContentEncoding);
        await using var gunzip = new GZipStream(await response.Content.ReadAsStreamAsync(), CompressionMode.Decompress);
        var items = await System.Text.Json.JsonSerializer.DeserializeAsync(gunzip, TodoJson.Default.ListTodo);
        Assert.Equal(100, items!.Count);

        var lines = (await _client.GetStringAsync("/todos/export")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(100, lines.Length);
        Assert.Equal("item number 99", System.Text.Json.JsonSerializer.Deserialize(lines[^1], TodoJson.Default.Todo)!.Title);
    }

    [Fact]
    public async Task Assets_are_served_with_validators()
    {
        using var page = await _client.GetAsync("/assets/index.html");
        Assert.Equal("<h1>Todo</h1>", await page.Content.ReadAsStringAsync());
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        using var again = new HttpRequestMessage(HttpMethod.Get, "/assets/index.html");
        again.Headers.IfNoneMatch.Add(page.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await _client.SendAsync(again)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/assets/missing.html")).StatusCode);
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
        Directory.Delete(_assets, recursive: true);
    }
}
