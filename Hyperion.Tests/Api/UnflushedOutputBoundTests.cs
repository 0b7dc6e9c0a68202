using System.Globalization;
using System.Text;
using Hyperion;
using Hyperion.Tests.Http2;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Api;

/// <summary>
/// <see cref="HyperionOptions.MaxUnflushedResponseBytes"/> (issue 10, item 4): a client that pipelines thousands of
/// requests and does not read holds at most the bound plus one response of server memory, on HTTP/1.1 and HTTP/2.
/// Measured: the peak of bytes out of the server's block pool (every connection's input and output buffers come
/// from it) over the whole exchange, from the stall through the moment the client reads everything back. Before
/// the bound, the requests that piled up during the stall were all answered into one unflushed batch (tens of MiB).
/// </summary>
public abstract class UnflushedOutputBoundTests : TransportTests
{
    private const long Bound = 256 * 1024;
    private const int StaticSize = 16 * 1024;
    private const int Slack = 16 * 4096; // a few partly filled blocks of input and output

    [Fact]
    public async Task Http1_pipelined_requests_from_a_client_that_does_not_read_hold_the_bound_plus_one_response()
    {
        const int requests = 3000;
        await using var ts = await StartAsync(Routes, o =>
        {
            o.MaxUnflushedResponseBytes = Bound;
            o.LoopCount = 1;
        });
        var pool = ts.Server.MemoryPool;

        var pipeline = new StringBuilder();
        for (int i = 0; i < requests; i++)
        {
            pipeline.Append(i % 50 == 0 ? $"GET /seq?n={i} HTTP/1.1\r\nHost: x\r\n\r\n" : "GET /s HTTP/1.1\r\nHost: x\r\n\r\n");
        }

        var requestBytes = Encoding.ASCII.GetBytes(pipeline.ToString());
        pool.ResetPeak();
        long baseline = pool.RentedBytes;

        using var stalled = await RawConnection.ConnectAsync(ts.Port, receiveBufferSize: 16 * 1024);
        await stalled.SendAsync(requestBytes);
        await SettleAsync(pool);

        // Another client is answered while the first one holds its connection's output full.
        using (var other = await ts.ConnectAsync())
        {
            await other.SendAsync("GET /s HTTP/1.1\r\nHost: x\r\n\r\n");
            var response = await other.ReadResponseAsync();
            response.Status.Should().Be(200);
            response.Body.Length.Should().Be(StaticSize);
        }

        // Now it reads: every response arrives, in request order.
        int nextSeq = 0;
        for (int i = 0; i < requests; i++)
        {
            var response = await stalled.ReadResponseAsync();
            response.Status.Should().Be(200);
            if (i % 50 == 0)
            {
                response.BodyText.Should().Be(nextSeq.ToString(CultureInfo.InvariantCulture), "responses come in request order");
                nextSeq += 50;
            }
            else
            {
                response.Body.Length.Should().Be(StaticSize);
            }
        }

        long peak = pool.PeakRentedBytes - baseline;
        long allowed = Bound + StaticSize + InputAllowance(requestBytes.Length) + Slack;
        peak.Should().BeLessThanOrEqualTo(allowed,
            "one connection holds at most the bound ({0}) plus one response, besides its request bytes; peak was {1} bytes", Bound, peak);
    }

    [Fact]
    public async Task Http2_streams_whose_responses_are_not_read_hold_the_bound_plus_one_response()
    {
        const int streams = 3000;
        const int bodySize = 1000;
        await using var ts = await StartAsync(s =>
        {
            s.UseHttp2();
            s.HandleStatic("GET", "/s3", new byte[bodySize], "application/octet-stream");
            s.HandleStatic("GET", "/s", new byte[StaticSize], "application/octet-stream");
        }, o =>
        {
            o.MaxUnflushedResponseBytes = Bound;
            o.LoopCount = 1;
        });
        var pool = ts.Server.MemoryPool;

        // Windows wide open (RFC 9113 §6.9.2): only the bound keeps the server from answering everything at once.
        var chunks = new List<byte[]>
        {
            H2.Frame(H2.Settings, H2.Ack, 0, default),
            H2.Frame(H2.WindowUpdate, 0, 0, H2.U32(int.MaxValue - 65535)),
        };
        for (int i = 0; i < streams; i++)
        {
            chunks.Add(H2.Frame(H2.Headers, H2.EndHeaders | H2.EndStream, (2 * i) + 1, H2.Block(H2.Get("/s3"))));
        }

        var requestBytes = chunks.Sum(c => c.Length);
        pool.ResetPeak();
        long baseline = pool.RentedBytes;

        await using var stalled = await H2RawClient.ConnectAsync(ts.Port, true, H2.Setting(0x4, int.MaxValue));
        stalled.AckSettings = false; // acknowledged above, before reading anything
        await stalled.SendAsync([.. chunks]);
        await SettleAsync(pool);

        await using (var other = await H2RawClient.ConnectAsync(ts.Port))
        {
            await other.SendHeadersAsync(1, endStream: true, H2.Get("/s"));
            var response = await other.ReadResponseAsync(1);
            response.Status.Should().Be(200);
            response.Body.Length.Should().Be(StaticSize);
        }

        var received = new Dictionary<int, int>();
        int ended = 0;
        while (ended < streams)
        {
            var frame = await stalled.ReadFrameAsync();
            frame.Should().NotBeNull("the server answers all {0} streams; {1} ended so far", streams, ended);
            frame!.Type.Should().NotBe(H2.GoAway, "got {0}", frame);
            if (frame.Type == H2.Data)
            {
                received[frame.StreamId] = received.GetValueOrDefault(frame.StreamId) + frame.Length;
                if (frame.Has(H2.EndStream))
                {
                    ended++;
                }
            }
        }

        received.Should().HaveCount(streams);
        received.Values.Should().AllSatisfy(n => n.Should().Be(bodySize));

        // A frame is written into one contiguous span, so a block ends where the next frame does not fit: each
        // 4 KiB block carries at least 4096 - (largest frame - 1) bytes of output.
        const int largestFrame = 9 + bodySize;
        const long perBlock = 4096 - largestFrame + 1;
        long outputBlocks = ((Bound + largestFrame + perBlock - 1) / perBlock) + 1;
        long peak = pool.PeakRentedBytes - baseline;
        long allowed = (outputBlocks * 4096) + InputAllowance(requestBytes) + Slack;
        peak.Should().BeLessThanOrEqualTo(allowed,
            "one connection holds at most the bound ({0}) plus one response, besides its request bytes; peak was {1} bytes", Bound, peak);
    }

    /// <summary>The request bytes may all sit in the input pipe; a receive that does not fit the last block takes a fresh one.</summary>
    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    public void A_bound_that_is_not_positive_is_refused_at_start(long bound)
    {
        var create = () => new HyperionServer(new HyperionOptions { Port = 0, Transport = Transport, MaxUnflushedResponseBytes = bound });
        create.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*MaxUnflushedResponseBytes*");
    }

    private static long InputAllowance(long requestBytes) => 2 * requestBytes;

    private static void Routes(HyperionServer s)
    {
        s.HandleStatic("GET", "/s", new byte[StaticSize], "application/octet-stream");
        s.Handle("GET", "/seq", env => RackResponse.Text(200, env.QueryString[2..]));
    }

    /// <summary>Waits (bounded) until the server stops buffering more for the stalled client; the assertion is the peak, not this wait.</summary>
    private static async Task SettleAsync(Hyperion.Internal.Infrastructure.PinnedBlockMemoryPool pool)
    {
        long last = -1;
        for (int i = 0; i < 40; i++)
        {
            await Task.Delay(25);
            long now = pool.RentedBytes;
            if (now == last)
            {
                return;
            }

            last = now;
        }
    }
}

public sealed class UnflushedOutputBoundTestsOnSockets : UnflushedOutputBoundTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class UnflushedOutputBoundTestsOnIoUring : UnflushedOutputBoundTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class UnflushedOutputBoundTestsOnEpoll : UnflushedOutputBoundTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
