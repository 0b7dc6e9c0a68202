using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
using GrpcLoad;
using Hyperion.Grpc;
using Hyperion.Samples.Greet;
using Hyperion.Tests.Grpc;
using Hyperion.Tests.Http2;
using Hyperion.Tests.Infrastructure;
using TestProtos = Hyperion.Tests.Grpc.Protos;

namespace Hyperion.Tests.Bench;

/// <summary>
/// bench/tools/GrpcLoad's raw HTTP/2 client (--client raw) against Hyperion.Grpc on 127.0.0.1: it is measuring
/// equipment, so what it counts — replies, round trips, calls and their grpc-status — must be exactly what happened.
/// Every run is bounded by a call count; the duration is only a cap against a hang.
/// </summary>
public class RawGrpcClientTests
{
    private static readonly TimeSpan Cap = TimeSpan.FromSeconds(20);

    private static Task<TestServer> StartAsync() => TestServer.StartAsync(s => s.AddGrpcService(new GreeterService()));

    // The run blocks its thread until its connections' threads end: a dedicated one, so the in-process server's
    // handlers never wait for the thread pool to grow.
    private static Task<LoadResult> RunAsync(Uri url, RawCallPlan plan, int connections, int concurrency, long calls, TimeSpan? duration = null)
        => Task.Factory.StartNew(
            () =>
            {
                using var run = new RawGrpcRun(url, plan, connections, concurrency);
                return run.Run(duration ?? Cap, calls, serverPid: 0);
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

    private static Task<LoadResult> RunAsync(TestServer server, RawCallPlan plan, int connections, int concurrency, long calls, TimeSpan? duration = null)
        => RunAsync(server.BaseAddress, plan, connections, concurrency, calls, duration);

    [Fact]
    public async Task A_server_stream_call_counts_exactly_the_100_replies_the_bench_asks_for()
    {
        await using var ts = await StartAsync();

        var result = await RunAsync(ts, GreeterPlans.For("server-stream", messages: 100, rounds: 0), connections: 2, concurrency: 4, calls: 40);

        result.Statuses.Should().Equal(new Dictionary<string, long> { ["OK"] = 40 });
        result.Calls.Should().Be(40);
        result.Messages.Should().Be(4000);
        result.LatenciesMs.Should().HaveCount(40, "one latency sample per call");
    }

    [Fact]
    public async Task A_call_answered_with_a_non_zero_grpc_status_is_an_error()
    {
        // GreeterService refuses a negative count with INVALID_ARGUMENT: HTTP 200 and Trailers-Only, no reply.
        await using var ts = await StartAsync();

        var result = await RunAsync(ts, GreeterPlans.For("server-stream", messages: -1, rounds: 0), connections: 1, concurrency: 4, calls: 8);

        result.Statuses.Should().Equal(new Dictionary<string, long> { [nameof(StatusCode.InvalidArgument)] = 8 });
        result.Errors.Should().Be(8);
        result.Messages.Should().Be(0);
    }

    [Fact]
    public async Task A_non_zero_grpc_status_after_every_reply_is_still_an_error()
    {
        var greeter = new ScriptedGreeter
        {
            ServerStream = async (request, stream, context) =>
            {
                for (int i = 0; i < request.Count; i++)
                {
                    await stream.WriteAsync(new TestProtos.HelloReply { Index = i });
                }

                throw new RpcException(new Status(StatusCode.Internal, "after the replies"));
            },
        };
        await using var ts = await TestServer.StartAsync(s => s.AddGrpcService(greeter));

        var result = await RunAsync(ts, CountUp(replies: 100, asked: 100), connections: 1, concurrency: 2, calls: 4);

        result.Statuses.Should().Equal(new Dictionary<string, long> { [nameof(StatusCode.Internal)] = 4 });
        result.Messages.Should().Be(400, "the replies arrived; the trailers decide the call");
    }

    [Theory]
    [InlineData(99, "client:too-few-replies")]
    [InlineData(101, "client:too-many-replies")]
    public async Task A_server_stream_with_another_reply_count_than_expected_is_an_error(int sent, string status)
    {
        // The server says OK; only the client's count can tell.
        await using var ts = await TestServer.StartAsync(s => s.AddGrpcService(new TestGreeter()));

        var result = await RunAsync(ts, CountUp(replies: 100, asked: sent), connections: 1, concurrency: 2, calls: 4);

        result.Statuses.Should().Equal(new Dictionary<string, long> { [status] = 4 });
        result.Messages.Should().Be(4L * sent);
    }

    [Fact]
    public async Task Replies_split_across_data_frames_are_counted_once_each()
    {
        // 40,000-byte replies cannot fit one 16,384-byte DATA frame (RFC 9113 §4.2): each spans three or more.
        await using var ts = await TestServer.StartAsync(s => s.AddGrpcService(new TestGreeter()));
        var plan = new RawCallPlan
        {
            Kind = RawCallKind.ServerStream,
            Path = GrpcRaw.CountUp,
            Request = new TestProtos.HelloRequest { Count = 5, ReplySize = 40_000 }.ToByteArray(),
            Replies = 5,
        };

        var result = await RunAsync(ts, plan, connections: 1, concurrency: 2, calls: 4);

        result.Statuses.Should().Equal(new Dictionary<string, long> { ["OK"] = 4 });
        result.Messages.Should().Be(20);
    }

    [Fact]
    public async Task Bidi_round_trips_are_counted_one_per_reply()
    {
        await using var ts = await StartAsync();

        var result = await RunAsync(ts, GreeterPlans.For("bidi", messages: 0, rounds: 5), connections: 2, concurrency: 4, calls: 8);

        result.Statuses.Should().Equal(new Dictionary<string, long> { ["OK"] = 8 });
        result.Calls.Should().Be(8);
        result.Messages.Should().Be(40, "8 calls of 5 round trips");
        result.LatenciesMs.Should().HaveCount(40, "one latency sample per round trip");
    }

    [Fact]
    public async Task Bidi_calls_that_last_the_whole_run_end_with_grpc_status_0()
    {
        // Rounds 0 (bench/grpc.sh's shape): each slot keeps one call until the run ends, then half-closes and reads the
        // trailers; however short the run (or late a connection's thread), every slot makes one call and every call
        // at least its first round trip.
        await using var ts = await StartAsync();

        var result = await RunAsync(ts, GreeterPlans.For("bidi", messages: 0, rounds: 0), connections: 2, concurrency: 4, calls: 0, duration: TimeSpan.FromMilliseconds(100));

        result.Statuses.Should().Equal(new Dictionary<string, long> { ["OK"] = 8 });
        result.Messages.Should().BeGreaterThanOrEqualTo(8);
        result.LatenciesMs.Should().HaveCount((int)result.Messages);
    }

    [Fact]
    public async Task A_reply_other_than_the_expected_one_is_an_error()
    {
        // TestGreeter's Chat numbers its replies: the second reply (index 1) differs from the expected first one.
        await using var ts = await TestServer.StartAsync(s => s.AddGrpcService(new TestGreeter()));
        var plan = new RawCallPlan
        {
            Kind = RawCallKind.Bidi,
            Path = GrpcRaw.Chat,
            Request = new TestProtos.HelloRequest { Name = "x" }.ToByteArray(),
            ExpectedReply = new TestProtos.HelloReply { Message = "echo x", Index = 0 }.ToByteArray(),
            Rounds = 2,
        };

        var result = await RunAsync(ts, plan, connections: 1, concurrency: 2, calls: 2);

        result.Statuses.Should().Equal(new Dictionary<string, long> { ["client:bad-reply"] = 2 });
        result.Messages.Should().Be(4);
    }

    [Fact]
    public async Task Unary_calls_count_one_reply_each()
    {
        await using var ts = await StartAsync();

        var result = await RunAsync(ts, GreeterPlans.For("unary", messages: 0, rounds: 0), connections: 2, concurrency: 8, calls: 64);

        result.Statuses.Should().Equal(new Dictionary<string, long> { ["OK"] = 64 });
        result.Messages.Should().Be(64);
    }

    [Fact]
    public async Task Calls_wait_for_the_servers_stream_limit()
    {
        // Two streams at a time (SETTINGS_MAX_CONCURRENT_STREAMS, RFC 9113 §5.1.2) for eight slots: a stream over the
        // limit would be refused (RST_STREAM REFUSED_STREAM) and counted as an error.
        await using var ts = await TestServer.StartAsync(s =>
        {
            s.UseHttp2(new Http2Options { MaxConcurrentStreams = 2 });
            s.AddGrpcService(new GreeterService());
        });

        var result = await RunAsync(ts, GreeterPlans.For("bidi", messages: 0, rounds: 10), connections: 1, concurrency: 8, calls: 8);

        result.Statuses.Should().Equal(new Dictionary<string, long> { ["OK"] = 8 });
        result.Messages.Should().Be(80);
    }

    [Fact]
    public async Task Requests_wait_for_the_servers_connection_window()
    {
        // Eight 10,005-byte requests in flight need 80,040 bytes of a 65,535-byte connection window (RFC 9113 §6.9):
        // the seventh and eighth wait for the server's WINDOW_UPDATE instead of overrunning it.
        await using var ts = await TestServer.StartAsync(s =>
        {
            s.UseHttp2(new Http2Options { InitialConnectionWindowSize = 65_535 });
            s.AddGrpcService(new GreeterService());
        });
        string name = new('x', 10_000);
        var plan = new RawCallPlan
        {
            Kind = RawCallKind.Unary,
            Path = "/" + Greeter.Descriptor.FullName + "/SayHello",
            Request = new HelloRequest { Name = name }.ToByteArray(),
            ExpectedReply = new HelloReply { Message = "Hello, " + name }.ToByteArray(),
        };

        var result = await RunAsync(ts, plan, connections: 1, concurrency: 8, calls: 32);

        result.Statuses.Should().Equal(new Dictionary<string, long> { ["OK"] = 32 });
        result.Messages.Should().Be(32);
    }

    public enum PeerEnd
    {
        Close,
        GoAway,
        Reset,
    }

    [Theory]
    [InlineData(PeerEnd.Close, "client:connection-lost")]
    [InlineData(PeerEnd.GoAway, "client:goaway")]
    [InlineData(PeerEnd.Reset, "rst-stream:2")]
    public async Task A_call_ended_by_the_connection_or_the_server_resetting_it_is_an_error(PeerEnd end, string status)
    {
        // A scripted HTTP/2 peer: SETTINGS, then on the client's first HEADERS (stream 1) it closes the connection,
        // sends GOAWAY with last stream 0 (stream 1 was not processed, RFC 9113 §6.8) or RST_STREAM INTERNAL_ERROR.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var peer = Task.Run(async () =>
        {
            using Socket socket = await listener.AcceptSocketAsync();
            await socket.SendAsync(H2.Frame(H2.Settings, 0, 0, []));
            await ReadUntilHeadersAsync(socket);
            switch (end)
            {
                case PeerEnd.Close:
                    socket.Close();
                    return;
                case PeerEnd.GoAway:
                    await socket.SendAsync(H2.Frame(H2.GoAway, 0, 0, [.. H2.U32(0), .. H2.U32(H2.NoError)]));
                    break;
                case PeerEnd.Reset:
                    await socket.SendAsync(H2.Frame(H2.RstStream, 0, 1, H2.U32(H2.InternalError)));
                    break;
            }

            // Open until the client is done with it.
            var sink = new byte[4096];
            while (await socket.ReceiveAsync(sink) > 0)
            {
            }
        });
        var url = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/");

        var result = await RunAsync(url, GreeterPlans.For("server-stream", messages: 100, rounds: 0), connections: 1, concurrency: 1, calls: 1);
        await peer.WaitAsync(Cap);

        result.Statuses.Should().Equal(new Dictionary<string, long> { [status] = 1 });
        result.Calls.Should().Be(1);
    }

    // Reads the client's preface and frames until a HEADERS frame has arrived.
    private static async Task ReadUntilHeadersAsync(Socket socket)
    {
        var buffer = new List<byte>();
        var chunk = new byte[4096];
        int at = H2RawClient.Preface.Length;
        while (true)
        {
            while (buffer.Count >= at + 9)
            {
                int length = (buffer[at] << 16) | (buffer[at + 1] << 8) | buffer[at + 2];
                if (buffer[at + 3] == H2.Headers)
                {
                    return;
                }

                at += 9 + length;
            }

            int n = await socket.ReceiveAsync(chunk);
            if (n == 0)
            {
                throw new InvalidOperationException("the client closed before sending HEADERS");
            }

            buffer.AddRange(chunk.AsSpan(0, n));
        }
    }

    private static RawCallPlan CountUp(int replies, int asked) => new()
    {
        Kind = RawCallKind.ServerStream,
        Path = GrpcRaw.CountUp,
        Request = new TestProtos.HelloRequest { Count = asked }.ToByteArray(),
        Replies = replies,
    };
}
