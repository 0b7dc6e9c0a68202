using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Hyperion;
using Hyperion.Grpc;
using Hyperion.Tests.Grpc;
using Hyperion.Tests.Grpc.Protos;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Performance;
using Xunit.Abstractions;

namespace Hyperion.Tests.Http2;

/// <summary>
/// What an HTTP/2 request costs in allocations must not grow with the streams in flight on its connection: measured
/// over a real loopback h2c connection by a client that itself allocates nothing, one stream at a time and 100 at once
/// (the default SETTINGS_MAX_CONCURRENT_STREAMS). Run alone (nothing else allocating).
/// </summary>
[Collection(nameof(AllocationCollection))]
public class Http2InFlightAllocationTests(ITestOutputHelper output)
{
    private const int WarmupRequests = 3_000;
    private const int MeasuredRequests = 10_000;
    private const int Rounds = 3;
    private const int Deep = 100;

    // 100 streams in flight may cost this much more per request than one: room for the requests whose DATA arrives
    // after their HEADERS and so run on the thread pool, far under the per-stream objects (env, body pipe and its
    // blocks, queued writers) that were allocated and dropped each round before.
    private const int MaxExtraBytesPerRequest = 600;

    // And whatever the depth-1 figure does: the plain POST within this, the gRPC call within the budget
    // GrpcAllocationTests gives one call at a time.
    private const int MaxPostBytes = 1_500;
    private const int MaxGrpcBytes = 3_000;

    public static TheoryData<TransportKind> Transports() => AllocationCollection.Transports();

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_POST_costs_the_same_with_100_streams_in_flight_as_with_one(TransportKind transport)
    {
        byte[] answer = "Hello from Hyperion"u8.ToArray();
        (string, string)[] headers = [("content-type", "text/plain")];
        await using var ts = await TestServer.StartAsync(
            s =>
            {
                s.UseHttp2();
                s.Handle("POST", "/echo", env =>
                {
                    Span<byte> body = stackalloc byte[64];
                    while (env.Body.Read(body) > 0)
                    {
                    }

                    return new RackResponse(200, headers, answer);
                });
            },
            o => o.Transport = transport);

        var request = H2.Block(H2.Post("/echo", ("content-type", "text/plain")));
        var body = "name=World&greeting=hi"u8.ToArray();
        double one = await MeasureAsync(ts.Port, request, body, 1);
        double deep = await MeasureAsync(ts.Port, request, body, Deep);

        output.WriteLine($"h2c POST on {transport}: {one:F0} B/request with 1 stream in flight, {deep:F0} B/request with {Deep}");
        deep.Should().BeLessThan(one + MaxExtraBytesPerRequest, "the per-stream objects are reused, not dropped, when many streams are in flight");
        deep.Should().BeLessThan(MaxPostBytes);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_JSON_response_costs_only_its_value_carrier_more_than_the_same_bytes(TransportKind transport)
    {
        var doc = new Hyperion.Tests.Api.JsonDoc(new string('j', 1000));
        byte[] bytes = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(doc, Hyperion.Tests.Api.JsonResponseTestContext.Default.JsonDoc);
        await using var ts = await TestServer.StartAsync(
            s =>
            {
                s.UseHttp2();
                s.Handle("POST", "/bytes", env =>
                {
                    Span<byte> body = stackalloc byte[64];
                    while (env.Body.Read(body) > 0)
                    {
                    }

                    return RackResponse.Bytes(200, bytes, "application/json; charset=utf-8");
                });
                s.Handle("POST", "/json", env =>
                {
                    Span<byte> body = stackalloc byte[64];
                    while (env.Body.Read(body) > 0)
                    {
                    }

                    return RackResponse.Json(200, doc, Hyperion.Tests.Api.JsonResponseTestContext.Default.JsonDoc);
                });
            },
            o => o.Transport = transport);

        var payload = "{}"u8.ToArray();
        double asBytes = await MeasureAsync(ts.Port, H2.Block(H2.Post("/bytes", ("content-type", "application/json"))), payload, 1);
        double asJson = await MeasureAsync(ts.Port, H2.Block(H2.Post("/json", ("content-type", "application/json"))), payload, 1);
        output.WriteLine($"h2c 1 KB body on {transport}: {asBytes:F0} B/request as bytes, {asJson:F0} B/request as RackResponse.Json");

        // 32 bytes carry the value; the document itself (1,011 bytes) is not an array per response.
        asJson.Should().BeLessThan(asBytes + 100);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_unary_gRPC_call_costs_the_same_with_100_calls_in_flight_as_with_one(TransportKind transport)
    {
        await using var ts = await TestServer.StartAsync(s => s.AddGrpcService(new TestGreeter()), o => o.Transport = transport);

        var request = H2.Block(GrpcRaw.Headers(GrpcRaw.SayHello));
        var body = GrpcRaw.Message(new HelloRequest { Name = "World" });
        double one = await MeasureAsync(ts.Port, request, body, 1);
        double deep = await MeasureAsync(ts.Port, request, body, Deep);

        output.WriteLine($"unary gRPC on {transport}: {one:F0} B/call with 1 call in flight, {deep:F0} B/call with {Deep}");
        deep.Should().BeLessThan(one + MaxExtraBytesPerRequest, "the per-stream objects are reused, not dropped, when many calls are in flight");
        deep.Should().BeLessThan(MaxGrpcBytes);
    }

    private static Task<double> MeasureAsync(int port, byte[] headerBlock, byte[] body, int depth)
        => Task.Factory.StartNew(() => Measure(port, headerBlock, body, depth), TaskCreationOptions.LongRunning);

    private static double Measure(int port, byte[] headerBlock, byte[] body, int depth)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(IPAddress.Loopback, port);
        socket.ReceiveTimeout = 5000;
        var client = new BatchClient(socket, headerBlock, body, depth);
        client.Handshake();
        for (int i = 0; i < WarmupRequests / depth; i++)
        {
            client.Batch();
        }

        double best = double.MaxValue;
        int batches = MeasuredRequests / depth;
        for (int round = 0; round < Rounds; round++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < batches; i++)
            {
                client.Batch();
            }

            long after = GC.GetTotalAllocatedBytes(precise: true);
            best = Math.Min(best, (after - before) / (double)(batches * depth));
        }

        return best;
    }

    /// <summary>
    /// Sends <c>depth</c> requests (HEADERS, then DATA with END_STREAM; one pre-encoded block of HPACK literals without
    /// indexing serves every stream) in one write, then reads until every one of them has ended. Allocates nothing per batch.
    /// </summary>
    private sealed class BatchClient
    {
        private readonly Socket _socket;
        private readonly byte[] _batch;
        private readonly int _requestLength;
        private readonly int _dataOffset;
        private readonly int _depth;
        private readonly byte[] _settingsAck = H2.Frame(H2.Settings, H2.Ack, 0, []);
        private readonly byte[] _buffer = new byte[256 * 1024];
        private int _start;
        private int _end;
        private int _nextStream = 1;

        public BatchClient(Socket socket, byte[] headerBlock, byte[] body, int depth)
        {
            _socket = socket;
            _depth = depth;
            var headers = H2.Frame(H2.Headers, H2.EndHeaders, 1, headerBlock);
            var data = H2.Frame(H2.Data, H2.EndStream, 1, body);
            _dataOffset = headers.Length;
            _requestLength = headers.Length + data.Length;
            _batch = new byte[_requestLength * depth];
            for (int i = 0; i < depth; i++)
            {
                headers.CopyTo(_batch, i * _requestLength);
                data.CopyTo(_batch, (i * _requestLength) + _dataOffset);
            }
        }

        public void Handshake()
            => _socket.Send([.. H2RawClient.Preface, .. H2.Frame(H2.Settings, 0, 0, []), .. H2.Frame(H2.WindowUpdate, 0, 0, H2.U32(int.MaxValue - 65_535))]);

        public void Batch()
        {
            int first = _nextStream;
            for (int i = 0; i < _depth; i++)
            {
                int id = first + (2 * i);
                BinaryPrimitives.WriteInt32BigEndian(_batch.AsSpan((i * _requestLength) + 5), id);
                BinaryPrimitives.WriteInt32BigEndian(_batch.AsSpan((i * _requestLength) + _dataOffset + 5), id);
            }

            _nextStream += 2 * _depth;
            _socket.Send(_batch);
            int ended = 0;
            while (ended < _depth)
            {
                if (_end - _start < 9)
                {
                    Fill();
                    continue;
                }

                int length = (_buffer[_start] << 16) | (_buffer[_start + 1] << 8) | _buffer[_start + 2];
                if (_end - _start < 9 + length)
                {
                    Fill();
                    continue;
                }

                byte type = _buffer[_start + 3];
                byte flags = _buffer[_start + 4];
                int stream = BinaryPrimitives.ReadInt32BigEndian(_buffer.AsSpan(_start + 5)) & 0x7FFFFFFF;
                _start += 9 + length;
                if (type == H2.Settings && (flags & H2.Ack) == 0)
                {
                    _socket.Send(_settingsAck);
                }
                else if (type == H2.GoAway || type == H2.RstStream)
                {
                    throw new IOException($"the server sent {H2.Name(type)} on stream {stream}");
                }
                else if ((type == H2.Headers || type == H2.Data) && stream >= first && (flags & H2.EndStream) != 0)
                {
                    ended++;
                }
            }
        }

        private void Fill()
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            int n = _socket.Receive(_buffer, _end, _buffer.Length - _end, SocketFlags.None);
            if (n == 0)
            {
                throw new IOException("server closed the connection");
            }

            _end += n;
        }
    }
}
