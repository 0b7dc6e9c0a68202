using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Hyperion;
using Hyperion.Grpc;
using Hyperion.Tests.Grpc.Protos;
using Hyperion.Tests.Http2;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Performance;
using Xunit.Abstractions;

namespace Hyperion.Tests.Grpc;

/// <summary>
/// What a unary call costs in allocations, measured over a real loopback h2c connection with a client that itself
/// allocates nothing; and a compression bomb refused without being inflated. Run alone (nothing else allocating).
/// </summary>
[Collection(nameof(AllocationCollection))]
public class GrpcAllocationTests(ITestOutputHelper output)
{
    private const int Warmup = 2_000;
    private const int Measured = 5_000;
    private const int Rounds = 3;

    // The whole exchange (HTTP/2 stream, request body pipe, call context, messages) stays within this; see the output
    // for the measured figure. A regression that allocates per frame or per header shows up here.
    private const int MaxBytesPerCall = 3_000;

    public static TheoryData<TransportKind> Transports() => AllocationCollection.Transports();

    public static TheoryData<TransportKind, int> TransportsAndConcurrency()
    {
        var data = new TheoryData<TransportKind, int> { { TransportKind.Sockets, 10 }, { TransportKind.Epoll, 10 } };
        if (Hyperion.Native.IoUringSupport.IsSupported)
        {
            data.Add(TransportKind.IoUring, 10);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_unary_call_allocates_a_bounded_amount(TransportKind transport)
    {
        await using var ts = await TestServer.StartAsync(s => s.AddGrpcService(new TestGreeter()), o => o.Transport = transport);

        double perCall = await Task.Factory.StartNew(() => Measure(ts.Port), TaskCreationOptions.LongRunning);

        output.WriteLine($"unary gRPC call on {transport}: {perCall:F0} bytes allocated per call (process-wide, best of {Rounds} rounds of {Measured})");
        perCall.Should().BeLessThan(MaxBytesPerCall);
    }

    [Theory]
    [MemberData(nameof(TransportsAndConcurrency))]
    public async Task Concurrent_unary_calls_on_one_connection_allocate_a_bounded_amount(TransportKind transport, int concurrent)
    {
        await using var ts = await TestServer.StartAsync(s => s.AddGrpcService(new TestGreeter()), o => o.Transport = transport);

        double perCall = await Task.Factory.StartNew(() => Measure(ts.Port, concurrent), TaskCreationOptions.LongRunning);

        output.WriteLine($"unary gRPC calls {concurrent} at a time on {transport}: {perCall:F0} bytes allocated per call");
        perCall.Should().BeLessThan(MaxBytesPerCall * 2);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Baseline_an_h2_route_reading_the_same_body_and_answering_with_trailers(TransportKind transport)
    {
        var reply = GrpcRaw.Message(new HelloReply { Message = "Hello World" });
        (string, string)[] headers = [("content-type", "application/grpc")];
        (string, string)[] trailers = [("grpc-status", "0")];
        await using var ts = await TestServer.StartAsync(
            s =>
            {
                s.UseHttp2();
                s.Handle("POST", GrpcRaw.SayHello, env =>
                {
                    Span<byte> body = stackalloc byte[64];
                    while (env.Body.Read(body) > 0)
                    {
                    }

                    return new RackResponse(200, headers, reply) { Trailers = trailers };
                });
            },
            o => o.Transport = transport);

        double perCall = await Task.Factory.StartNew(() => Measure(ts.Port), TaskCreationOptions.LongRunning);

        output.WriteLine($"plain h2 POST with trailers on {transport}: {perCall:F0} bytes allocated per request");
    }

    [Fact]
    public async Task A_compression_bomb_is_refused_without_being_inflated()
    {
        await using var ts = await TestServer.StartAsync(s => s.AddGrpcService(new TestGreeter()));
        await using var h2 = await H2RawClient.ConnectAsync(ts.Port);

        // 200 gzip members of 1 MiB of zeros each: 200 MiB once inflated, about 200 KB on the wire (concatenated
        // members are one gzip stream to the decoder), far past the 4 MiB receive limit.
        var member = Gzip(new byte[1024 * 1024]);
        var bomb = new byte[member.Length * 200];
        for (int i = 0; i < 200; i++)
        {
            member.CopyTo(bomb, i * member.Length);
        }

        var message = GrpcRaw.Framed(bomb, compressedFlag: true);
        await h2.SendHeadersAsync(1, endStream: false, GrpcRaw.Headers(GrpcRaw.SayHello, ("grpc-encoding", "gzip")));
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int at = 0; at < message.Length; at += 16_384)
        {
            int n = Math.Min(16_384, message.Length - at);
            await h2.SendAsync(H2.Frame(H2.Data, at + n == message.Length ? H2.EndStream : (byte)0, 1, message.AsSpan(at, n)));
        }

        var response = await h2.ReadResponseAsync(1);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        GrpcRaw.Field(response.Headers, "grpc-status").Should().Be("8");
        output.WriteLine($"bomb of {200L * 1024 * 1024:N0} bytes refused after allocating {allocated:N0} bytes");
        allocated.Should().BeLessThan(32L * 1024 * 1024, "the message is refused once it inflates past the limit");
    }

    private static byte[] Gzip(byte[] data)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gz.Write(data);
        }

        return ms.ToArray();
    }

    private static double Measure(int port, int concurrent = 1)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(IPAddress.Loopback, port);
        socket.ReceiveTimeout = 5000;
        var client = new AllocationFreeClient(socket, concurrent);
        client.Handshake();
        for (int i = 0; i < Warmup / concurrent; i++)
        {
            client.Call();
        }

        double best = double.MaxValue;
        for (int round = 0; round < Rounds; round++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < Measured / concurrent; i++)
            {
                client.Call();
            }

            long after = GC.GetTotalAllocatedBytes(precise: true);
            best = Math.Min(best, (after - before) / (double)(Measured / concurrent * concurrent));
        }

        return best;
    }

    /// <summary>Pre-encoded frames (HPACK literals without indexing, so one block serves every stream); reads into one buffer.</summary>
    private sealed class AllocationFreeClient(Socket socket, int concurrent)
    {
        private readonly byte[] _headers = H2.Frame(H2.Headers, H2.EndHeaders, 1, H2.Block(GrpcRaw.Headers(GrpcRaw.SayHello)));
        private readonly byte[] _data = H2.Frame(H2.Data, H2.EndStream, 1, GrpcRaw.Message(new HelloRequest { Name = "World" }));
        private readonly byte[] _settingsAck = H2.Frame(H2.Settings, H2.Ack, 0, []);
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;
        private int _stream = 1;

        public void Handshake()
        {
            socket.Send([.. H2RawClient.Preface, .. H2.Frame(H2.Settings, 0, 0, []), .. H2.Frame(H2.WindowUpdate, 0, 0, H2.U32(int.MaxValue - 65_535))]);
        }

        /// <summary><c>concurrent</c> calls on as many streams, sent together, then read until every one has ended.</summary>
        public void Call()
        {
            int first = _stream;
            for (int k = 0; k < concurrent; k++)
            {
                BinaryPrimitives.WriteInt32BigEndian(_headers.AsSpan(5), _stream + (2 * k));
                BinaryPrimitives.WriteInt32BigEndian(_data.AsSpan(5), _stream + (2 * k));
                socket.Send(_headers);
                socket.Send(_data);
            }

            int open = concurrent;
            while (open > 0)
            {
                int length = (_buffer[_start] << 16) | (_buffer[_start + 1] << 8) | _buffer[_start + 2];
                if (_end - _start < 9 || _end - _start < 9 + length)
                {
                    Fill();
                    continue;
                }

                byte type = _buffer[_start + 3];
                byte flags = _buffer[_start + 4];
                int stream = BinaryPrimitives.ReadInt32BigEndian(_buffer.AsSpan(_start + 5)) & 0x7FFFFFFF;
                _start += 9 + length;
                bool ours = stream >= first && stream < first + (2 * concurrent);
                if (type == H2.Settings && (flags & H2.Ack) == 0)
                {
                    socket.Send(_settingsAck);
                }
                else if (type == H2.GoAway || (type == H2.RstStream && ours))
                {
                    throw new IOException("the server ended the exchange");
                }
                else if (type == H2.Headers && ours && (flags & H2.EndStream) != 0)
                {
                    open--;
                }
            }

            _stream += 2 * concurrent;
        }

        private void Fill()
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            int n = socket.Receive(_buffer, _end, _buffer.Length - _end, SocketFlags.None);
            if (n == 0)
            {
                throw new IOException("server closed the connection");
            }

            _end += n;
        }
    }
}
