using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Grpc.Core;
using Hyperion;
using Hyperion.Tests.Grpc.Protos;
using Hyperion.Tests.Http2;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Grpc;

/// <summary>PROTOCOL-HTTP2.md at frame level: framing split any way, Trailers-Only, refusals with precise statuses.</summary>
public abstract class GrpcWireTests : GrpcTests
{
    private static ScriptedGreeter Echo() => new()
    {
        Unary = (r, c) => Task.FromResult(new HelloReply { Message = "Hello " + r.Name, Payload = r.Payload }),
        ClientStream = async (requests, c) =>
        {
            var names = new List<string>();
            await foreach (var r in requests.ReadAllAsync())
            {
                names.Add(r.Name);
            }

            return new HelloReply { Message = string.Join(",", names), Index = names.Count };
        },
    };

    [Fact]
    public async Task An_error_before_any_message_is_one_HEADERS_frame_Trailers_Only()
    {
        var greeter = new ScriptedGreeter { Unary = (r, c) => throw new global::Grpc.Core.RpcException(new global::Grpc.Core.Status(global::Grpc.Core.StatusCode.PermissionDenied, "no")) };
        await using var ts = await StartGreeterAsync(greeter);
        await using var h2 = await H2RawClient.ConnectAsync(ts.Port);

        await h2.SendHeadersAsync(1, endStream: false, GrpcRaw.Headers(GrpcRaw.SayHello));
        await h2.SendAsync(GrpcRaw.Data(1, GrpcRaw.Message(new HelloRequest())));
        var frame = await h2.ExpectAsync(f => f.StreamId == 1 && f.Type is H2.Headers or H2.Data, "the response");

        frame.Type.Should().Be(H2.Headers);
        frame.Has(H2.EndStream).Should().BeTrue("Trailers-Only is a single HEADERS frame that ends the stream");
        var fields = frame.Fields!;
        GrpcRaw.Field(fields, ":status").Should().Be("200");
        GrpcRaw.Field(fields, "content-type").Should().Be("application/grpc");
        GrpcRaw.Field(fields, "grpc-status").Should().Be("7");
        GrpcRaw.Field(fields, "grpc-message").Should().Be("no");
        GrpcRaw.Field(fields, "content-length").Should().BeNull();
        h2.Received.Where(f => f.StreamId == 1).Should().ContainSingle();
    }

    [Fact]
    public async Task A_successful_unary_call_is_headers_data_and_trailers_with_the_status()
    {
        await using var ts = await StartGreeterAsync(Echo());
        await using var h2 = await H2RawClient.ConnectAsync(ts.Port);

        await h2.SendHeadersAsync(1, endStream: false, GrpcRaw.Headers(GrpcRaw.SayHello));
        await h2.SendAsync(GrpcRaw.Data(1, GrpcRaw.Message(new HelloRequest { Name = "raw" })));
        var response = await h2.ReadResponseAsync(1);

        response.Status.Should().Be(200);
        response.Header("content-type").Should().Be("application/grpc");
        response.Header("grpc-status").Should().BeNull("the status is a trailer when there is a body");
        response.Header("content-length").Should().BeNull();
        GrpcRaw.Field(response.Trailers, "grpc-status").Should().Be("0");
        HelloReply.Parser.ParseFrom(GrpcRaw.Messages(response.Body).Single()).Message.Should().Be("Hello raw");
    }

    [Fact]
    public async Task A_message_split_into_one_byte_DATA_frames_is_read_whole()
    {
        await using var ts = await StartGreeterAsync(Echo());
        await using var h2 = await H2RawClient.ConnectAsync(ts.Port);
        var payload = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
        var message = GrpcRaw.Message(new HelloRequest { Name = "bytewise", Payload = ByteString.CopyFrom(payload) });

        await h2.SendHeadersAsync(1, endStream: false, GrpcRaw.Headers(GrpcRaw.SayHello));
        for (int i = 0; i < message.Length; i++)
        {
            await h2.SendAsync(H2.Frame(H2.Data, 0, 1, message.AsSpan(i, 1)));
        }

        await h2.SendAsync(GrpcRaw.Data(1, []));
        var response = await h2.ReadResponseAsync(1);

        GrpcRaw.Field(response.Trailers, "grpc-status").Should().Be("0");
        var reply = HelloReply.Parser.ParseFrom(GrpcRaw.Messages(response.Body).Single());
        reply.Message.Should().Be("Hello bytewise");
        reply.Payload.ToByteArray().Should().Equal(payload);
    }

    [Fact]
    public async Task Many_messages_in_one_DATA_frame_are_each_read()
    {
        await using var ts = await StartGreeterAsync(Echo());
        await using var h2 = await H2RawClient.ConnectAsync(ts.Port);
        var names = Enumerable.Range(0, 40).Select(i => "n" + i).ToArray();
        var all = names.SelectMany(n => GrpcRaw.Message(new HelloRequest { Name = n })).ToArray();

        await h2.SendHeadersAsync(1, endStream: false, GrpcRaw.Headers(GrpcRaw.JoinNames));
        await h2.SendAsync(GrpcRaw.Data(1, all));
        var response = await h2.ReadResponseAsync(1);

        GrpcRaw.Field(response.Trailers, "grpc-status").Should().Be("0");
        var reply = HelloReply.Parser.ParseFrom(GrpcRaw.Messages(response.Body).Single());
        reply.Message.Should().Be(string.Join(",", names));
        reply.Index.Should().Be(40);
    }

    [Fact]
    public async Task A_request_ending_inside_a_message_is_INTERNAL()
    {
        await using var ts = await StartGreeterAsync(Echo());
        await using var h2 = await H2RawClient.ConnectAsync(ts.Port);
        var message = GrpcRaw.Message(new HelloRequest { Name = "cut short" });

        await h2.SendHeadersAsync(1, endStream: false, GrpcRaw.Headers(GrpcRaw.SayHello));
        await h2.SendAsync(GrpcRaw.Data(1, message[..^3]));
        var response = await h2.ReadResponseAsync(1);

        GrpcRaw.Field(response.Headers, "grpc-status").Should().Be("13");
    }

    [Fact]
    public async Task An_unknown_method_of_a_known_service_is_UNIMPLEMENTED_Trailers_Only()
    {
        await using var ts = await StartGreeterAsync(Echo());
        await using var h2 = await H2RawClient.ConnectAsync(ts.Port);

        await h2.SendHeadersAsync(1, endStream: false, GrpcRaw.Headers("/hyperion.tests.Greeter/NoSuchMethod"));
        await h2.SendAsync(GrpcRaw.Data(1, GrpcRaw.Message(new HelloRequest())));
        var frame = await h2.ExpectAsync(f => f.StreamId == 1 && f.Type is H2.Headers or H2.Data, "the response");

        frame.Has(H2.EndStream).Should().BeTrue();
        GrpcRaw.Field(frame.Fields!, ":status").Should().Be("200");
        GrpcRaw.Field(frame.Fields!, "grpc-status").Should().Be("12");
        GrpcRaw.Field(frame.Fields!, "grpc-message").Should().Be("Method is unimplemented.");
        ts.Logged("GrpcCallRefused", "NoSuchMethod").Should().BeTrue();
    }

    [Fact]
    public async Task A_request_without_a_grpc_content_type_is_415_with_grpc_status_INTERNAL()
    {
        await using var ts = await StartGreeterAsync(Echo());
        await using var h2 = await H2RawClient.ConnectAsync(ts.Port);

        await h2.SendHeadersAsync(1, endStream: false, H2.Post(GrpcRaw.SayHello, ("content-type", "application/json")));
        await h2.SendAsync(GrpcRaw.Data(1, "{}"u8.ToArray()));
        var frame = await h2.ExpectAsync(f => f.StreamId == 1 && f.Type is H2.Headers or H2.Data, "the response");

        frame.Has(H2.EndStream).Should().BeTrue();
        GrpcRaw.Field(frame.Fields!, ":status").Should().Be("415");
        GrpcRaw.Field(frame.Fields!, "grpc-status").Should().Be("13");
    }

    [Fact]
    public async Task A_non_grpc_request_to_an_unknown_path_is_still_404()
    {
        await using var ts = await StartGreeterAsync(Echo());
        await using var h2 = await H2RawClient.ConnectAsync(ts.Port);

        await h2.SendHeadersAsync(1, endStream: true, H2.Get("/nothing/here"));
        var response = await h2.ReadResponseAsync(1);

        response.Status.Should().Be(404);
        response.Header("grpc-status").Should().BeNull();
    }

    [Fact]
    public async Task A_grpc_request_over_http11_is_426_naming_http2()
    {
        await using var ts = await StartGreeterAsync(Echo());
        using var http = ts.CreateHttpClient("1.1");
        foreach (var path in new[] { GrpcRaw.SayHello, "/hyperion.tests.Greeter/Unknown" })
        {
            var content = new ByteArrayContent(GrpcRaw.Message(new HelloRequest()));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");

            using var response = await http.PostAsync(path, content);

            response.StatusCode.Should().Be(HttpStatusCode.UpgradeRequired, path);
            response.Version.Should().Be(HttpVersion.Version11);
            response.Headers.Upgrade.Select(u => u.ToString()).Should().Equal("HTTP/2");
        }
    }

    [Fact]
    public async Task A_compressed_message_without_grpc_encoding_is_INTERNAL()
    {
        await using var ts = await StartGreeterAsync(Echo());
        await using var h2 = await H2RawClient.ConnectAsync(ts.Port);

        await h2.SendHeadersAsync(1, endStream: false, GrpcRaw.Headers(GrpcRaw.SayHello));
        await h2.SendAsync(GrpcRaw.Data(1, GrpcRaw.Framed(Gzip(new HelloRequest { Name = "z" }.ToByteArray()), compressedFlag: true)));
        var response = await h2.ReadResponseAsync(1);

        GrpcRaw.Field(response.Headers, "grpc-status").Should().Be("13");
    }

    [Fact]
    public async Task An_unsupported_grpc_encoding_is_UNIMPLEMENTED_listing_what_is_supported()
    {
        await using var ts = await StartGreeterAsync(Echo());
        await using var h2 = await H2RawClient.ConnectAsync(ts.Port);

        await h2.SendHeadersAsync(1, endStream: false, GrpcRaw.Headers(GrpcRaw.SayHello, ("grpc-encoding", "snappy")));
        await h2.SendAsync(GrpcRaw.Data(1, GrpcRaw.Message(new HelloRequest())));
        var frame = await h2.ExpectAsync(f => f.StreamId == 1 && f.Type is H2.Headers or H2.Data, "the response");

        frame.Has(H2.EndStream).Should().BeTrue();
        GrpcRaw.Field(frame.Fields!, "grpc-status").Should().Be("12");
        GrpcRaw.Field(frame.Fields!, "grpc-accept-encoding").Should().Be("identity,gzip,deflate");
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task A_compressed_request_message_is_inflated(string encoding)
    {
        await using var ts = await StartGreeterAsync(Echo());
        await using var h2 = await H2RawClient.ConnectAsync(ts.Port);
        var payload = new HelloRequest { Name = "squeezed " + new string('x', 1000) }.ToByteArray();

        await h2.SendHeadersAsync(1, endStream: false, GrpcRaw.Headers(GrpcRaw.SayHello, ("grpc-encoding", encoding)));
        await h2.SendAsync(GrpcRaw.Data(1, GrpcRaw.Framed(encoding == "gzip" ? Gzip(payload) : Zlib(payload), compressedFlag: true)));
        var response = await h2.ReadResponseAsync(1);

        GrpcRaw.Field(response.Trailers, "grpc-status").Should().Be("0");
        HelloReply.Parser.ParseFrom(GrpcRaw.Messages(response.Body).Single()).Message.Should().Be("Hello squeezed " + new string('x', 1000));
    }

    internal static byte[] Gzip(byte[] data)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
        {
            gz.Write(data);
        }

        return ms.ToArray();
    }

    internal static byte[] Zlib(byte[] data)
    {
        var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.Fastest, leaveOpen: true))
        {
            z.Write(data);
        }

        return ms.ToArray();
    }
}

public sealed class GrpcWireTestsOnSockets : GrpcWireTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class GrpcWireTestsOnIoUring : GrpcWireTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class GrpcWireTestsOnEpoll : GrpcWireTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
