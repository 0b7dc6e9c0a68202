using Grpc.Core;
using Hyperion;
using Hyperion.Tests.Grpc.Protos;
using Hyperion.Tests.Http2;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Grpc;

/// <summary>HTTP/2 flow control as back-pressure on the handler: a client that stops reading stops the writes.</summary>
public abstract class GrpcFlowControlTests : GrpcTests
{
    private const int Messages = 2000;
    private const int PayloadSize = 1000;

    [Fact]
    public async Task A_client_that_stops_reading_stops_the_handlers_writes_until_it_reads_again()
    {
        int written = 0;
        var greeter = new ScriptedGreeter
        {
            ServerStream = async (r, w, c) =>
            {
                var reply = new HelloReply { Payload = Google.Protobuf.ByteString.CopyFrom(new byte[PayloadSize]) };
                for (int i = 0; i < Messages; i++)
                {
                    reply.Index = i;
                    await w.WriteAsync(reply);
                    Volatile.Write(ref written, i + 1);
                }
            },
        };
        await using var ts = await StartGreeterAsync(greeter);
        await using var h2 = await H2RawClient.ConnectAsync(ts.Port);

        // The client's windows stay at the default 65,535 bytes: it never sends WINDOW_UPDATE until told to below.
        await h2.SendHeadersAsync(1, endStream: false, GrpcRaw.Headers(GrpcRaw.CountUp));
        await h2.SendAsync(GrpcRaw.Data(1, GrpcRaw.Message(new HelloRequest())));
        long received = 0;
        while (received < 65_535)
        {
            var data = await h2.ExpectAsync(f => f.StreamId == 1 && f.Type == H2.Data, "DATA within the window");
            received += data.Payload.Length;
        }

        // The window is spent: however long the server runs, its handler cannot get further than the window's worth.
        int windowMessages = (65_535 / (PayloadSize + 10)) + 1;
        (await TestClock.SettlesAsync(() => Volatile.Read(ref written) > windowMessages)).Should().BeFalse();
        received.Should().Be(65_535);

        await h2.SendAsync(H2.Frame(H2.WindowUpdate, 0, 0, H2.U32(int.MaxValue - 65_535)), H2.Frame(H2.WindowUpdate, 0, 1, H2.U32(int.MaxValue - 65_535)));
        var body = new MemoryStream();
        foreach (var early in h2.Received.Where(f => f.StreamId == 1 && f.Type == H2.Data))
        {
            body.Write(early.Payload);
        }

        H2Frame last;
        do
        {
            // The windows are open wide now: no WINDOW_UPDATE per frame (the server would count that as a flood).
            last = await h2.ExpectAsync(f => f.StreamId == 1 && f.Type is H2.Data or H2.Headers or H2.RstStream, "the rest of the stream");
            if (last.Type == H2.Data)
            {
                body.Write(last.Payload);
            }
        }
        while (!(last.Type == H2.Headers && last.Has(H2.EndStream)));

        GrpcRaw.Field(last.Fields!, "grpc-status").Should().Be("0");
        GrpcRaw.Messages(body.ToArray()).Should().HaveCount(Messages);
        written.Should().Be(Messages);
    }

    [Fact]
    public async Task A_handler_that_stops_reading_stops_a_client_stream_at_the_servers_window()
    {
        var read = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var greeter = new ScriptedGreeter
        {
            ClientStream = async (requests, c) =>
            {
                await read.Task;
                int n = 0;
                while (await requests.MoveNext())
                {
                    n++;
                }

                return new HelloReply { Index = n };
            },
        };
        await using var ts = await StartGreeterAsync(greeter);
        var (channel, client) = Connect(ts);
        using var _ = channel;

        using var call = client.JoinNames();
        var request = new HelloRequest { Payload = Google.Protobuf.ByteString.CopyFrom(new byte[16 * 1024]) };
        int sent = 0;
        var sending = Task.Run(async () =>
        {
            for (int i = 0; i < 200; i++)
            {
                await call.RequestStream.WriteAsync(request);
                Volatile.Write(ref sent, i + 1);
            }

            await call.RequestStream.CompleteAsync();
        });

        // 200 messages of 16 KiB are 3.2 MB; the server's stream window (256 KiB) holds a sixteenth of them.
        (await TestClock.SettlesAsync(() => Volatile.Read(ref sent) >= 200)).Should().BeFalse();
        Volatile.Read(ref sent).Should().BeLessThan(100);

        read.SetResult();
        await sending.WaitAsync(TimeSpan.FromSeconds(10));
        (await call.ResponseAsync).Index.Should().Be(200);
    }
}

public sealed class GrpcFlowControlTestsOnSockets : GrpcFlowControlTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class GrpcFlowControlTestsOnIoUring : GrpcFlowControlTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class GrpcFlowControlTestsOnEpoll : GrpcFlowControlTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
