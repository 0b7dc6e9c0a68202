using System.Runtime.CompilerServices;
using System.Text;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Http1;

/// <summary>Every response body shape, framing chosen by the server, trailers, and refusal of bad app output.</summary>
public abstract class ResponseTests : TransportTests
{
    private static ReadOnlyMemory<byte> B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public async Task Chunk_sequence_is_sent_chunked_on_http11_and_close_delimited_on_http10()
    {
        await using var ts = await StartAsync(s => s.Run(env =>
            ValueTask.FromResult(RackResponse.Chunks(200, [("Content-Type", "text/plain")], [B("one,"), B("two,"), B("three")]))));
        using (var c = await ts.ConnectAsync())
        {
            await c.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            var r = await c.ReadResponseAsync();
            r.Header("Transfer-Encoding").Should().Be("chunked");
            r.BodyText.Should().Be("one,two,three");
        }

        using (var c = await ts.ConnectAsync())
        {
            await c.SendAsync("GET / HTTP/1.0\r\n\r\n");
            var r = await c.ReadResponseAsync();
            r.Header("Transfer-Encoding").Should().BeNull();
            r.Header("Connection").Should().Be("close");
            r.BodyText.Should().Be("one,two,three");
        }
    }

    [Fact]
    public async Task Async_chunks_reach_the_client_as_they_are_produced()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async IAsyncEnumerable<ReadOnlyMemory<byte>> Produce([EnumeratorCancellation] CancellationToken ct = default)
        {
            yield return B("first");
            await release.Task.WaitAsync(ct);
            yield return B("second");
        }

        await using var ts = await StartAsync(s => s.Run(env => ValueTask.FromResult(RackResponse.AsyncChunks(200, null, Produce()))));
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        var head = await c.ReadHeadAsync();
        head.Header("Transfer-Encoding").Should().Be("chunked");

        // "first" must be on the wire while the producer is still blocked.
        var buffer = new byte[64];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var got = new StringBuilder(Encoding.ASCII.GetString(c.Leftover));
        while (!got.ToString().Contains("first", StringComparison.Ordinal))
        {
            int n = await c.Socket.ReceiveAsync(buffer, System.Net.Sockets.SocketFlags.None, cts.Token);
            n.Should().BeGreaterThan(0);
            got.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        got.ToString().Should().NotContain("second");
        release.SetResult();
    }

    [Fact]
    public async Task Streaming_callback_flushes_reach_the_client_and_trailers_follow_the_body()
    {
        var step = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartAsync(s => s.Run(env => ValueTask.FromResult(RackResponse.Streaming(200, [("Content-Type", "text/plain")], async w =>
        {
            await w.WriteAsync("part1;");
            await w.FlushAsync();
            await step.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await w.WriteAsync("part2");
            w.AddTrailer("X-Checksum", "abc123");
        }))));
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        var head = await c.ReadHeadAsync();
        head.Header("Transfer-Encoding").Should().Be("chunked");
        var firstChunk = new byte[64];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int n = c.Leftover.Length > 0 ? 0 : await c.Socket.ReceiveAsync(firstChunk, System.Net.Sockets.SocketFlags.None, cts.Token);
        (Encoding.ASCII.GetString(c.Leftover) + Encoding.ASCII.GetString(firstChunk, 0, n)).Should().Contain("part1;");
        step.SetResult();
    }

    [Fact]
    public async Task Trailers_are_sent_after_a_chunked_body()
    {
        await using var ts = await StartAsync(s => s.Run(env =>
            ValueTask.FromResult(RackResponse.Text(200, "body").WithTrailers([("grpc-status", "0"), ("X-Sum", "42")]))));
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET / HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n\r\n");
        var head = await c.ReadHeadAsync();
        head.Header("Transfer-Encoding").Should().Be("chunked");
        var (body, trailers) = await c.ReadChunkedWithTrailersAsync();
        Encoding.ASCII.GetString(body).Should().Be("body");
        trailers.Should().Equal("grpc-status: 0", "X-Sum: 42");
    }

    [Fact]
    public async Task File_body_is_sent_with_its_length()
    {
        var path = Path.GetTempFileName();
        var content = new byte[200_000];
        Random.Shared.NextBytes(content);
        await File.WriteAllBytesAsync(path, content);
        try
        {
            await using var ts = await StartAsync(s =>
            {
                s.Handle("GET", "/file", env => RackResponse.File(200, null, path));
                s.Handle("GET", "/missing", env => RackResponse.File(200, null, path + ".nope"));
            });
            using var client = ts.CreateHttpClient();
            var r = await client.GetAsync("/file");
            r.Content.Headers.ContentLength.Should().Be(content.Length);
            (await r.Content.ReadAsByteArrayAsync()).Should().Equal(content);
            (await client.GetAsync("/missing")).StatusCode.Should().Be(System.Net.HttpStatusCode.NotFound);

            // And over the in-process client (no socket, so no sendfile: the copy path).
            using var inProc = ts.Server.CreateClient();
            (await inProc.GetByteArrayAsync("/file")).Should().Equal(content);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("X-Bad", "a\r\nInjected: yes")]
    [InlineData("X-Bad", "a\nb")]
    [InlineData("X-Bad", "a\0b")]
    [InlineData("X-Bad\r\nInjected", "v")]
    [InlineData("Bad Name", "v")]
    public async Task Header_with_crlf_or_controls_is_refused_not_sent(string name, string value)
    {
        await using var ts = await StartAsync(s => s.Run(env =>
            ValueTask.FromResult(new RackResponse(200, [(name, value)], "should not be sent"))));
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        var r = await c.ReadResponseAsync();
        r.Status.Should().Be(500);
        r.Headers.Should().NotContain(h => h.Name == "Injected");
        r.BodyText.Should().Be("Internal Server Error", "the 500 says what it is; the refused header and its value are not echoed");
        ts.Logs.Lines.Should().Contain(l => l.Level == Microsoft.Extensions.Logging.LogLevel.Error);
    }

    [Fact]
    public async Task App_exception_gives_500_and_other_clients_are_unharmed()
    {
        await using var ts = await StartAsync(s =>
        {
            s.Handle("GET", "/boom", RackResponse (env) => throw new InvalidOperationException("boom"));
            s.Handle("GET", "/ok", env => RackResponse.Text(200, "ok"));
        });
        using var client = ts.CreateHttpClient();
        (await client.GetAsync("/boom")).StatusCode.Should().Be(System.Net.HttpStatusCode.InternalServerError);
        (await client.GetStringAsync("/ok")).Should().Be("ok");
    }

    [Fact]
    public async Task Server_sets_date_server_and_content_length_and_app_content_type_wins()
    {
        await using var ts = await StartAsync(s => s.Run(env =>
            ValueTask.FromResult(new RackResponse(201, [("Content-Type", "application/json"), ("X-Custom", "1")], "{}"))));
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        var r = await c.ReadResponseAsync();
        r.StatusLine.Should().Be("HTTP/1.1 201 Created");
        r.Header("Content-Type").Should().Be("application/json");
        r.Header("Content-Length").Should().Be("2");
        r.Header("Server").Should().Be("Hyperion");
        DateTime.TryParse(r.Header("Date"), out _).Should().BeTrue();
        r.Header("X-Custom").Should().Be("1");
    }

    [Fact]
    public async Task No_content_and_not_modified_carry_no_body_or_length()
    {
        await using var ts = await StartAsync(s =>
        {
            s.Handle("GET", "/204", env => RackResponse.Empty(204));
            s.Handle("GET", "/304", env => RackResponse.Empty(304));
        });
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\n");
        var a = await c.ReadResponseAsync();
        a.Status.Should().Be(204);
        a.Header("Content-Length").Should().BeNull();
        var b = await c.ReadResponseAsync();
        b.Status.Should().Be(304);
    }

    [Fact]
    public async Task Streaming_body_with_declared_length_is_sent_unchunked()
    {
        await using var ts = await StartAsync(s => s.Run(env => ValueTask.FromResult(RackResponse.Streaming(200, [("Content-Length", "10")], async w =>
        {
            await w.WriteAsync("01234");
            await w.WriteAsync("56789");
        }))));
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        var r = await c.ReadResponseAsync();
        r.Header("Transfer-Encoding").Should().BeNull();
        r.BodyText.Should().Be("0123456789");
    }
}

public sealed class ResponseTestsOnSockets : ResponseTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class ResponseTestsOnIoUring : ResponseTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class ResponseTestsOnEpoll : ResponseTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
