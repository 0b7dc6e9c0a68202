using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Hyperion;
using Hyperion.Internal.Transport.Loops;
using Hyperion.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Hyperion.Tests.Api;

public sealed record JsonDoc(string Text, [property: JsonConverter(typeof(ThrowingConverter)), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Trap = null);

[JsonSerializable(typeof(JsonDoc))]
public sealed partial class JsonResponseTestContext : JsonSerializerContext;

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(JsonDoc))]
public sealed partial class IndentedJsonTestContext : JsonSerializerContext;

/// <summary>
/// Throws when asked to write "throw"; "where" is replaced by the thread the serializer runs on; "slow:KEY" moves the
/// fake clock registered under KEY by 80 ms, as if serializing had blocked that long, then writes as "where".
/// </summary>
public sealed class ThrowingConverter : JsonConverter<string>
{
    public static System.Collections.Concurrent.ConcurrentDictionary<string, FakeTimeProvider> Clocks { get; } = new();

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetString();

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        if (value == "throw")
        {
            throw new InvalidOperationException("the serializer failed");
        }

        if (value.StartsWith("slow:", StringComparison.Ordinal))
        {
            Clocks[value].Advance(TimeSpan.FromMilliseconds(80));
            value = "where";
        }

        writer.WriteStringValue(value == "where" ? (TransportLoop.IsLoopThread ? "loop" : Thread.CurrentThread.IsThreadPoolThread ? "pool" : "other") : value);
    }
}

/// <summary>
/// RackResponse.Json is serialized when the response is written (issue #11 item 4): on HTTP/1.1 straight into the
/// output after its head with the Content-Length filled in afterwards (its digits guessed and corrected), the part
/// past the output block spilled to a pooled buffer; on HTTP/2 through a pooled buffer. Every length and digit-count
/// change, HEAD, a failing serializer (still a 500), a head too large for the block, the route's placement, and
/// compression.
/// </summary>
public abstract class JsonResponseTests : TransportTests
{
    public static TheoryData<string> Versions => new() { "1.1", "2.0" };

    // Body lengths across digit counts, the 4 KiB output block and far past it. The document is {"Text":"xxx"}, 11 bytes at least.
    private static readonly int[] Lengths = [11, 12, 99, 100, 101, 999, 1000, 3500, 4096, 5000, 70_000, 300_000];

    private static string TextFor(int bodyLength) => new('x', bodyLength - "{\"Text\":\"\"}".Length);

    private static string Expected(int bodyLength) => "{\"Text\":\"" + TextFor(bodyLength) + "\"}";

    private static void Routes(HyperionServer s)
    {
        s.UseHttp2();
        s.Handle("GET", "/json/{n}", env => RackResponse.Json(200, new JsonDoc(TextFor(env.RouteValues.GetInt32("n"))), JsonResponseTestContext.Default.JsonDoc));
        s.Handle("GET", "/throw", _ => RackResponse.Json(200, new JsonDoc("a", "throw"), JsonResponseTestContext.Default.JsonDoc));
        s.Handle("GET", "/big-head", _ => RackResponse.Json(201, new JsonDoc("h"), JsonResponseTestContext.Default.JsonDoc)
            .WithHeader("X-Big", new string('v', 20_000)));
        s.Handle("GET", "/declared", _ => RackResponse.Json(200, new JsonDoc("d"), JsonResponseTestContext.Default.JsonDoc)
            .WithHeader("Content-Length", "3"));
        s.Handle("GET", "/no-content", _ => RackResponse.Json(204, new JsonDoc("throw-not"), JsonResponseTestContext.Default.JsonDoc));
        s.Handle("GET", "/trailers", _ => RackResponse.Json(200, new JsonDoc("t"), JsonResponseTestContext.Default.JsonDoc)
            .WithTrailers([("x-check", "1")]));
    }

    [Fact]
    public async Task HTTP1_pipelined_documents_of_every_length_carry_exact_Content_Lengths_and_the_connection_stays_usable()
    {
        await using var ts = await StartAsync(Routes);
        using var c = await ts.ConnectAsync();

        // One batch, so responses share output blocks; lengths go up then down, so the digit guess is wrong both ways.
        var order = Lengths.Concat(Lengths.Reverse()).Concat([11, 100_000, 13, 12]).ToArray();
        var requests = new StringBuilder();
        foreach (int n in order)
        {
            requests.Append("GET /json/").Append(n.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(" HTTP/1.1\r\nHost: a\r\n\r\n");
        }

        await c.SendAsync(requests.ToString());
        foreach (int n in order)
        {
            var r = await c.ReadResponseAsync();
            r.Status.Should().Be(200);
            r.Header("Content-Length").Should().Be(n.ToString(System.Globalization.CultureInfo.InvariantCulture));
            r.Header("Content-Type").Should().Be("application/json; charset=utf-8");
            r.Header("Transfer-Encoding").Should().BeNull();
            r.BodyText.Should().Be(Expected(n), $"the {n}-byte document");
        }

        await c.SendAsync("HEAD /json/1234 HTTP/1.1\r\nHost: a\r\n\r\n");
        var head = await c.ReadResponseAsync(head: true);
        head.Header("Content-Length").Should().Be("1234", "HEAD gets the length the GET would have");
        head.Body.Should().BeEmpty();

        await c.SendAsync("GET /json/42 HTTP/1.1\r\nHost: a\r\n\r\n");
        (await c.ReadResponseAsync()).BodyText.Should().Be(Expected(42), "nothing after the HEAD's head was sent");
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Documents_of_every_length_arrive_whole_with_their_length_on_both_protocols(string version)
    {
        await using var ts = await StartAsync(Routes);
        using var client = ts.CreateHttpClient(version);
        foreach (int n in Lengths.Concat(Lengths.Reverse()))
        {
            using var response = await client.GetAsync($"/json/{n}");
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            response.Content.Headers.ContentLength.Should().Be(n);
            (await response.Content.ReadAsStringAsync()).Should().Be(Expected(n));
        }

        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/json/321"));
        head.Content.Headers.ContentLength.Should().Be(321);
        (await head.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task HTTP2_documents_on_one_connection_with_a_small_window_are_cut_to_the_window_and_arrive_whole()
    {
        await using var ts = await StartAsync(Routes);

        // SETTINGS_INITIAL_WINDOW_SIZE 100: the in-place DATA frame may carry 100 bytes at most; the rest waits for
        // WINDOW_UPDATE. One connection, so the head-room guess changes from the first (literal) head to indexed ones.
        await using var c = await Hyperion.Tests.Http2.H2RawClient.ConnectAsync(ts.Port, settings: Hyperion.Tests.Http2.H2.Setting(4, 100));
        int[] sizes = [11, 3000, 70_000, 50, 999, 4000];
        for (int i = 0; i < sizes.Length; i++)
        {
            int id = 1 + (2 * i);
            await c.SendHeadersAsync(id, endStream: true, Hyperion.Tests.Http2.H2.Get($"/json/{sizes[i]}"));
            var r = await c.ReadResponseAsync(id);
            r.Status.Should().Be(200);
            r.Header("content-length").Should().Be(sizes[i].ToString(System.Globalization.CultureInfo.InvariantCulture));
            Encoding.UTF8.GetString(r.Body).Should().Be(Expected(sizes[i]));
        }

        c.Received.Where(f => f.Type == Hyperion.Tests.Http2.H2.Data).Should().OnlyContain(f => f.Length <= 100, "no DATA frame exceeds the window");
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task A_serializer_that_throws_still_gets_a_500_and_HTTP1_keeps_the_connection(string version)
    {
        await using var ts = await StartAsync(Routes);
        using var client = ts.CreateHttpClient(version);
        using var failed = await client.GetAsync("/throw");
        failed.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await failed.Content.ReadAsStringAsync()).Should().Be("Internal Server Error");
        ts.Logs.Lines.Should().ContainSingle(l => l.EventId.Name == "AppError" && l.Exception!.Message == "the serializer failed");

        using var declared = await client.GetAsync("/declared");
        declared.StatusCode.Should().Be(HttpStatusCode.InternalServerError, "a Content-Length header that does not match the document");
        (await client.GetStringAsync("/json/20")).Should().Be(Expected(20), "the connection still serves");
    }

    [Fact]
    public async Task HTTP1_after_a_failed_serialization_the_same_connection_answers_the_next_request()
    {
        await using var ts = await StartAsync(Routes);
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET /throw HTTP/1.1\r\nHost: a\r\n\r\nGET /json/30 HTTP/1.1\r\nHost: a\r\n\r\n");
        var failed = await c.ReadResponseAsync();
        failed.Status.Should().Be(500);
        failed.BodyText.Should().Be("Internal Server Error", "no part of the JSON response went out before it");
        var next = await c.ReadResponseAsync();
        next.Status.Should().Be(200);
        next.BodyText.Should().Be(Expected(30));
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task A_head_too_large_for_the_block_204_and_trailers_take_their_own_paths(string version)
    {
        await using var ts = await StartAsync(Routes);
        using var client = ts.CreateHttpClient(version);
        using var big = await client.GetAsync("/big-head");
        big.StatusCode.Should().Be(HttpStatusCode.Created);
        big.Headers.GetValues("X-Big").Single().Should().HaveLength(20_000, "over the block and, on HTTP/2, over one frame (CONTINUATION)");
        big.Content.Headers.ContentLength.Should().Be("{\"Text\":\"h\"}".Length);
        (await big.Content.ReadAsStringAsync()).Should().Be("{\"Text\":\"h\"}");

        using var empty = await client.GetAsync("/no-content");
        empty.StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await empty.Content.ReadAsByteArrayAsync()).Should().BeEmpty();

        using var trailed = await client.GetAsync("/trailers", HttpCompletionOption.ResponseContentRead);
        (await trailed.Content.ReadAsStringAsync()).Should().Be("{\"Text\":\"t\"}");
        trailed.TrailingHeaders.GetValues("x-check").Should().Equal("1");
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task The_document_is_serialized_where_the_route_runs(string version)
    {
        await using var ts = await StartAsync(s =>
        {
            s.UseHttp2();
            s.Handle("GET", "/inline", _ => RackResponse.Json(200, new JsonDoc("x", "where"), JsonResponseTestContext.Default.JsonDoc));
            s.Handle("GET", "/pool", _ => RackResponse.Json(200, new JsonDoc("x", "where"), JsonResponseTestContext.Default.JsonDoc), DispatchMode.ThreadPool);
        });
        using var client = ts.CreateHttpClient(version);
        bool loops = Transport is TransportKind.IoUring or TransportKind.Epoll;
        (await client.GetStringAsync("/inline")).Should().Contain(loops ? "\"Trap\":\"loop\"" : "\"Trap\":\"pool\"");
        (await client.GetStringAsync("/pool")).Should().Contain("\"Trap\":\"pool\"", "a pool route's document is not serialized on the loop");
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Compression_keeps_the_minimum_size_for_JSON_and_compresses_larger_documents(string version)
    {
        await using var ts = await StartAsync(s =>
        {
            Routes(s);
            s.Use(new ResponseCompression());
        });
        using var client = ts.CreateHttpClient(version);
        var small = new HttpRequestMessage(HttpMethod.Get, "/json/200");
        small.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        using var smallResponse = await client.SendAsync(small);
        smallResponse.Content.Headers.ContentEncoding.Should().BeEmpty("200 bytes is under the 1 KiB minimum");
        smallResponse.Headers.Vary.Should().Contain("Accept-Encoding");
        (await smallResponse.Content.ReadAsStringAsync()).Should().Be(Expected(200));

        var large = new HttpRequestMessage(HttpMethod.Get, "/json/20000");
        large.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        using var largeResponse = await client.SendAsync(large);
        largeResponse.Content.Headers.ContentEncoding.Should().Equal("gzip");
        await using var unzip = new System.IO.Compression.GZipStream(await largeResponse.Content.ReadAsStreamAsync(), System.IO.Compression.CompressionMode.Decompress);
        (await new StreamReader(unzip).ReadToEndAsync()).Should().Be(Expected(20000));
    }

    /// <summary>Loop transports: serializing is the route's code, timed by the watchdog like a streaming body.</summary>
    protected async Task A_document_whose_serialization_holds_the_loop_is_blamed_on_its_route_and_moves_it_to_the_pool(string version)
    {
        var clock = new FakeTimeProvider();
        string key = "slow:" + Guid.NewGuid().ToString("N");
        ThrowingConverter.Clocks[key] = clock;
        try
        {
            await using var ts = await StartAsync(
                s =>
                {
                    s.UseHttp2();
                    s.Handle("GET", "/slow", _ => RackResponse.Json(200, new JsonDoc("x", key), JsonResponseTestContext.Default.JsonDoc));
                },
                o => o.TimeProvider = clock);
            using var client = ts.CreateHttpClient(version);
            (await client.GetStringAsync("/slow")).Should().Contain("\"Trap\":\"loop\"");
            ts.Logs.Lines.Should().NotContain(l => l.EventId.Name == "LoopStall", "a body's first call may take ten thresholds");
            (await client.GetStringAsync("/slow")).Should().Contain("\"Trap\":\"loop\"");
            (await client.GetStringAsync("/slow")).Should().Contain("\"Trap\":\"pool\"", "the route, serialization included, now runs on the pool");
            ts.Logs.Lines.Where(l => l.EventId.Name == "LoopStall").Should().ContainSingle()
                .Which.Message.Should().StartWith("GET /slow held ").And.Contain("for 80 ms");
        }
        finally
        {
            ThrowingConverter.Clocks.TryRemove(key, out _);
        }
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task The_context_options_shape_the_document_indentation_and_encoder(string version)
    {
        var relaxed = new JsonResponseTestContext(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        await using var ts = await StartAsync(s =>
        {
            s.UseHttp2();
            s.Handle("GET", "/indented", _ => RackResponse.Json(200, new JsonDoc("é<"), IndentedJsonTestContext.Default.JsonDoc));
            s.Handle("GET", "/relaxed", _ => RackResponse.Json(200, new JsonDoc("é<"), relaxed.JsonDoc));
            s.Handle("GET", "/default", _ => RackResponse.Json(200, new JsonDoc("é<"), JsonResponseTestContext.Default.JsonDoc));
        });
        using var client = ts.CreateHttpClient(version);
        for (int i = 0; i < 2; i++)
        {
            // Alternating contexts on one connection: each response is written with its own context's options.
            (await client.GetStringAsync("/indented")).Should().Be(JsonSerializer.Serialize(new JsonDoc("é<"), IndentedJsonTestContext.Default.JsonDoc)).And.Contain("\n");
            (await client.GetStringAsync("/relaxed")).Should().Be("{\"Text\":\"é<\"}");
            (await client.GetStringAsync("/default")).Should().Be("{\"Text\":\"\\u00E9\\u003C\"}");
        }
    }

    [Fact]
    public async Task BufferBodyAsync_and_WriteBodyToAsync_give_middleware_the_document()
    {
        var response = RackResponse.Json(200, new JsonDoc("m"), JsonResponseTestContext.Default.JsonDoc);
        response.BodyKind.Should().Be(ResponseBodyKind.Json);
        var buffered = await response.BufferBodyAsync();
        buffered.BodyKind.Should().Be(ResponseBodyKind.Bytes);
        Encoding.UTF8.GetString(buffered.BytesBody.Span).Should().Be("{\"Text\":\"m\"}");
        buffered.ContentType.Should().Be("application/json; charset=utf-8");
    }
}

public sealed class JsonResponseTestsOnSockets : JsonResponseTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class JsonResponseTestsOnIoUring : JsonResponseTests
{
    protected override TransportKind Transport => IoUringOrFallback;

    [RequiresIoUringFact] public Task Slow_serialization_http1() => A_document_whose_serialization_holds_the_loop_is_blamed_on_its_route_and_moves_it_to_the_pool("1.1");

    [RequiresIoUringFact] public Task Slow_serialization_h2c() => A_document_whose_serialization_holds_the_loop_is_blamed_on_its_route_and_moves_it_to_the_pool("2.0");
}

public sealed class JsonResponseTestsOnEpoll : JsonResponseTests
{
    protected override TransportKind Transport => TransportKind.Epoll;

    [Fact] public Task Slow_serialization_http1() => A_document_whose_serialization_holds_the_loop_is_blamed_on_its_route_and_moves_it_to_the_pool("1.1");

    [Fact] public Task Slow_serialization_h2c() => A_document_whose_serialization_holds_the_loop_is_blamed_on_its_route_and_moves_it_to_the_pool("2.0");
}
