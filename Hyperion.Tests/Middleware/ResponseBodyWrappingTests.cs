using System.IO.Compression;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using Hyperion;
using Hyperion.Http2;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Middleware;

/// <summary>
/// Middleware wraps or reads any response body (RackResponse.WriteBodyToAsync, WithBody, BufferBodyAsync,
/// ResponseBodyWriter.AsStream), and each flush of a wrapped body still reaches the client, on both protocols.
/// </summary>
public abstract class ResponseBodyWrappingTests : TransportTests, IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), "hyperion-wrap-" + Guid.NewGuid().ToString("N") + ".txt");

    protected ResponseBodyWrappingTests() => File.WriteAllText(_file, "file body");

    public static TheoryData<string, string> KindsAndVersions()
    {
        var data = new TheoryData<string, string>();
        foreach (var version in new[] { "1.1", "2.0" })
        {
            foreach (var kind in new[] { "bytes", "text", "chunks", "asyncchunks", "file", "streaming" })
            {
                data.Add(kind, version);
            }
        }

        return data;
    }

    public static TheoryData<string> Versions => new() { "1.1", "2.0" };

    public void Dispose()
    {
        File.Delete(_file);
        GC.SuppressFinalize(this);
    }


    private void BodyRoutes(HyperionServer s)
    {
        s.UseHttp2();
        var headers = new[] { ("x-kind", "k") };
        s.Handle("GET", "/bytes", env => RackResponse.Bytes(200, "bytes body"u8.ToArray(), "text/plain"));
        s.Handle("GET", "/text", env => RackResponse.Text(200, "text body"));
        s.Handle("GET", "/chunks", env => RackResponse.Chunks(200, headers, [Encoding.ASCII.GetBytes("chunks "), Encoding.ASCII.GetBytes("body")]));
        s.Handle("GET", "/asyncchunks", env => RackResponse.AsyncChunks(200, headers, AsyncChunks("async", "chunks", "body")));
        s.Handle("GET", "/file", env => RackResponse.File(200, headers, _file, "text/plain"));
        s.Handle("GET", "/streaming", env => RackResponse.Streaming(200, headers, async w =>
        {
            await w.WriteAsync("streaming ");
            await w.FlushAsync();
            await w.WriteAsync("body");
        }));
    }

    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> AsyncChunks(params string[] parts)
    {
        for (int i = 0; i < parts.Length; i++)
        {
            await Task.Yield();
            yield return Encoding.ASCII.GetBytes(i == 0 ? parts[i] : " " + parts[i]);
        }
    }

    [Theory]
    [MemberData(nameof(KindsAndVersions))]
    public async Task A_middleware_wraps_every_body_kind_and_keeps_status_headers_and_trailers(string kind, string version)
    {
        await using var ts = await StartAsync(s =>
        {
            BodyRoutes(s);
            s.Use(next => async env =>
            {
                var inner = await next(env);
                return inner.WithStatus(203).WithBody(w => inner.WriteBodyToAsync(new UpperCaseWriter(w)));
            });
        });
        using var client = ts.CreateHttpClient(version);
        using var response = await client.GetAsync("/" + kind);
        response.StatusCode.Should().Be(HttpStatusCode.NonAuthoritativeInformation);
        string expected = (kind == "asyncchunks" ? "async chunks body" : kind + " body").ToUpperInvariant();
        (await response.Content.ReadAsStringAsync()).Should().Be(expected);
        if (kind is "chunks" or "asyncchunks" or "file" or "streaming")
        {
            response.Headers.GetValues("x-kind").Should().Equal("k");
        }

        if (kind is "bytes" or "text" or "file")
        {
            response.Content.Headers.ContentType!.MediaType.Should().Be("text/plain");
        }
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Each_flush_of_a_wrapped_streaming_body_reaches_the_client(string version)
    {
        var secondPart = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartAsync(s =>
        {
            s.UseHttp2();
            s.Handle("GET", "/live", env => RackResponse.Streaming(200, null, async w =>
            {
                await w.WriteAsync("first;");
                await w.FlushAsync();

                // The client must have seen the first part before the second is written: only a flush can deliver it.
                await secondPart.Task.WaitAsync(TimeSpan.FromSeconds(10));
                await w.WriteAsync("second");
            }));
            s.Use(next => async env =>
            {
                var inner = await next(env);
                return inner.WithBody(w => inner.WriteBodyToAsync(new UpperCaseWriter(w)));
            });
        });
        using var client = ts.CreateHttpClient(version);
        using var response = await client.GetAsync("/live", HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[64];
        var first = new StringBuilder();
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            while (first.Length < "FIRST;".Length)
            {
                int n = await body.ReadAsync(buffer, cts.Token);
                n.Should().BePositive();
                first.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
        }

        first.ToString().Should().Be("FIRST;");
        secondPart.SetResult();
        using var reader = new StreamReader(body);
        (await reader.ReadToEndAsync()).Should().Be("SECOND");
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task A_middleware_reads_a_whole_streamed_body_and_answers_with_its_length_and_trailers(string version)
    {
        await using var ts = await StartAsync(s =>
        {
            s.UseHttp2();
            s.Handle("GET", "/s", env => RackResponse.Streaming(200, [("x-a", "1")], async w =>
            {
                await w.WriteAsync("abc");
                await w.FlushAsync();
                await w.WriteAsync("def");
                w.AddTrailer("x-checksum", "42");
            }));
            s.Use(next => async env =>
            {
                var buffered = await (await next(env)).BufferBodyAsync();
                buffered.BodyKind.Should().Be(ResponseBodyKind.Bytes);
                return buffered.WithHeader("x-body", Encoding.ASCII.GetString(buffered.BytesBody.Span));
            });
        });
        using var client = ts.CreateHttpClient(version);
        using var response = await client.GetAsync("/s");
        (await response.Content.ReadAsStringAsync()).Should().Be("abcdef");
        response.Content.Headers.ContentLength.Should().Be(6, "a buffered body is sent with its length, not chunked");
        response.Headers.GetValues("x-body").Should().Equal("abcdef");
        response.Headers.GetValues("x-a").Should().Equal("1");
        response.TrailingHeaders.GetValues("x-checksum").Should().Equal("42");
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task AsStream_feeds_a_GZipStream_whose_flushes_reach_the_client(string version)
    {
        var secondPart = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartAsync(s =>
        {
            s.UseHttp2();
            s.Handle("GET", "/z", env => RackResponse.Streaming(200, null, async w =>
            {
                await w.WriteAsync("hello ");
                await w.FlushAsync();
                await secondPart.Task.WaitAsync(TimeSpan.FromSeconds(10));
                await w.WriteAsync("world");
            }));
            s.Use(next => async env =>
            {
                var inner = await next(env);
                return inner.WithHeader("Content-Encoding", "gzip").WithBody(async w =>
                {
                    await using var gzip = new GZipStream(w.AsStream(), CompressionLevel.Fastest, leaveOpen: true);
                    await inner.WriteBodyToAsync(new StreamBodyWriter(gzip, w));
                });
            });
        });
        using var client = ts.CreateHttpClient(version, DecompressionMethods.GZip);
        using var response = await client.GetAsync("/z", HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[64];
        var first = new StringBuilder();
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            while (first.Length < "hello ".Length)
            {
                int n = await body.ReadAsync(buffer, cts.Token);
                n.Should().BePositive();
                first.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
        }

        first.ToString().Should().Be("hello ");
        secondPart.SetResult();
        using var reader = new StreamReader(body);
        (await reader.ReadToEndAsync()).Should().Be("world");
    }

    [Fact]
    public async Task A_synchronous_write_to_AsStream_is_refused_rather_than_blocking_the_loop()
    {
        await using var ts = await StartAsync(s => s.Handle("GET", "/sync", env => RackResponse.Streaming(200, null, w =>
        {
            w.AsStream().Write("x"u8);
            return default;
        })));
        using var client = ts.CreateHttpClient();
        var act = () => client.GetStringAsync("/sync");
        await act.Should().ThrowAsync<HttpRequestException>("the head went out, then the callback threw and the body was cut");
        ts.Logs.Lines.Should().Contain(l => l.Exception is NotSupportedException);
    }

    /// <summary>A transforming writer: upper-cases ASCII and forwards flushes and trailers to the server's writer.</summary>
    private sealed class UpperCaseWriter(ResponseBodyWriter inner) : ResponseBodyWriter
    {
        public override CancellationToken Aborted => inner.Aborted;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            var upper = data.ToArray();
            for (int i = 0; i < upper.Length; i++)
            {
                if (upper[i] is >= (byte)'a' and <= (byte)'z')
                {
                    upper[i] -= 32;
                }
            }

            return inner.WriteAsync(upper, cancellationToken);
        }

        public override ValueTask FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override void AddTrailer(string name, string value) => inner.AddTrailer(name, value);
    }

    /// <summary>Writes into an encoder stream; a flush flushes the encoder (which flushes the server's writer under it).</summary>
    private sealed class StreamBodyWriter(Stream encoder, ResponseBodyWriter inner) : ResponseBodyWriter
    {
        public override CancellationToken Aborted => inner.Aborted;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
            => encoder.WriteAsync(data, cancellationToken);

        public override ValueTask FlushAsync(CancellationToken cancellationToken = default) => new(encoder.FlushAsync(cancellationToken));

        public override void AddTrailer(string name, string value) => inner.AddTrailer(name, value);
    }
}

public sealed class ResponseBodyWrappingTestsOnSockets : ResponseBodyWrappingTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class ResponseBodyWrappingTestsOnIoUring : ResponseBodyWrappingTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class ResponseBodyWrappingTestsOnEpoll : ResponseBodyWrappingTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
