using Hyperion;
using Hyperion.Grpc;
using Hyperion.Internal.Transport.Loops;
using Hyperion.Tests.Grpc.Protos;
using Hyperion.Tests.Http2;
using Hyperion.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Hyperion.Tests.Grpc;

/// <summary>
/// A gRPC handler is the route's code: on a loop transport it runs inline on the loop (its body came with its
/// headers), and one that blocks is reported by the loop watchdog and moved, with its method, to the thread pool
/// (issue 11 item 5's rule for every route). The clock is fake: the handler "blocks" by moving it.
/// </summary>
public abstract class GrpcLoopSafetyTests : TransportTests
{
    [Fact]
    public async Task A_handler_that_holds_the_loop_is_warned_once_and_its_method_moves_to_the_pool()
    {
        var clock = new FakeTimeProvider();
        int calls = 0;
        await using var ts = await StartAsync(
            s => s.AddGrpcService(new ScriptedGreeter
            {
                Unary = (request, _) =>
                {
                    string where = TransportLoop.IsLoopThread ? "loop" : "pool";
                    if (request.Name == "slow")
                    {
                        clock.Advance(TimeSpan.FromMilliseconds(80)); // as if it had blocked 80 ms
                    }

                    Interlocked.Increment(ref calls);
                    return Task.FromResult(new HelloReply { Message = where });
                },
            }),
            o => o.TimeProvider = clock);
        // Each call as one write (HEADERS, then the message with END_STREAM), as h2load sends them: its body is whole
        // when its read batch has been parsed, so the handler runs inline. (A client may also send the two apart; the
        // call then runs on the pool, where blocking freezes no loop.)
        await using var h2 = await H2RawClient.ConnectAsync(ts.Port);
        async Task<string> CallAsync(int id, string name)
        {
            await h2.SendAsync(
                H2.Frame(H2.Headers, H2.EndHeaders, id, H2.Block(GrpcRaw.Headers(GrpcRaw.SayHello))),
                GrpcRaw.Data(id, GrpcRaw.Message(new HelloRequest { Name = name })));
            var response = await h2.ReadResponseAsync(id);
            GrpcRaw.Field(response.Trailers, "grpc-status").Should().Be("0");
            return HelloReply.Parser.ParseFrom(GrpcRaw.Messages(response.Body).Single()).Message;
        }

        (await CallAsync(1, "fast")).Should().Be("loop");
        (await CallAsync(3, "slow")).Should().Be("loop");
        ts.Logs.Lines.Should().ContainSingle(l => l.EventId.Name == "LoopStall")
            .Which.Message.Should().StartWith("POST /hyperion.tests.Greeter/SayHello held ").And.Contain("for 80 ms");
        (await CallAsync(5, "fast")).Should().Be("pool", "the method now runs on the thread pool");
        ts.Logs.Lines.Should().ContainSingle(l => l.EventId.Name == "RouteOffloaded");
        calls.Should().Be(3);
    }

    /// <summary>
    /// A bidi call starts inline though its body is still coming, and each message resumes its handler on the loop
    /// (no thread hop per message), timed like the route: the message that blocks is warned and moves the method, so
    /// the call's later messages, and later calls, run on the pool.
    /// </summary>
    [Fact]
    public async Task Each_bidi_message_resumes_its_handler_on_the_loop_until_one_blocks()
    {
        var clock = new FakeTimeProvider();
        var wait = new FakeCpuWait();
        await using var ts = await StartAsync(
            s => s.AddGrpcService(new ScriptedGreeter
            {
                Duplex = async (requests, responses, context) =>
                {
                    while (await requests.MoveNext(context.CancellationToken))
                    {
                        string where = TransportLoop.IsLoopThread ? "loop" : "pool";
                        if (requests.Current.Name == "preempted")
                        {
                            wait.Add(75);                                 // 75 ms off the CPU
                            clock.Advance(TimeSpan.FromMilliseconds(80)); // of 80 on the wall clock: not a stall
                        }
                        else if (requests.Current.Name == "slow")
                        {
                            clock.Advance(TimeSpan.FromMilliseconds(80)); // as if it had blocked 80 ms
                        }

                        await responses.WriteAsync(new HelloReply { Message = where });
                    }
                },
            }),
            o => o.TimeProvider = clock);
        ts.Server.Watchdog.CpuWait = wait;
        await using var h2 = await H2RawClient.ConnectAsync(ts.Port);

        async Task<string> RoundTripAsync(int id, string name)
        {
            await h2.SendAsync(GrpcRaw.Data(id, GrpcRaw.Message(new HelloRequest { Name = name }), endStream: false));
            var data = await h2.ExpectAsync(f => f.StreamId == id && f.Type == H2.Data, $"a reply on {id}");
            return HelloReply.Parser.ParseFrom(GrpcRaw.Messages(data.Payload).Single()).Message;
        }

        // The HEADERS alone first: the call starts with none of its body here.
        await h2.SendAsync(H2.Frame(H2.Headers, H2.EndHeaders, 1, H2.Block(GrpcRaw.Headers(GrpcRaw.Chat))));
        (await RoundTripAsync(1, "a")).Should().Be("loop");
        (await RoundTripAsync(1, "b")).Should().Be("loop", "each message resumes the handler on the loop");
        (await RoundTripAsync(1, "preempted")).Should().Be("loop");
        (await RoundTripAsync(1, "after-preempted")).Should().Be("loop", "time off the CPU is not held against a resumption");
        ts.Logs.Lines.Should().NotContain(l => l.EventId.Name == "LoopStall");
        (await RoundTripAsync(1, "slow")).Should().Be("loop");
        ts.Logs.Lines.Should().ContainSingle(l => l.EventId.Name == "LoopStall")
            .Which.Message.Should().StartWith("POST /hyperion.tests.Greeter/Chat held ").And.Contain("for 80 ms");
        ts.Logs.Lines.Should().ContainSingle(l => l.EventId.Name == "RouteOffloaded");
        (await RoundTripAsync(1, "c")).Should().Be("pool", "the call's next message resumes on the pool");

        await h2.SendAsync(H2.Frame(H2.Headers, H2.EndHeaders, 3, H2.Block(GrpcRaw.Headers(GrpcRaw.Chat))));
        (await RoundTripAsync(3, "d")).Should().Be("pool", "and so does a later call");
        await h2.SendAsync(GrpcRaw.Data(1, [], endStream: true), GrpcRaw.Data(3, [], endStream: true));
        GrpcRaw.Field((await h2.ReadResponseAsync(1)).Trailers, "grpc-status").Should().Be("0");
        GrpcRaw.Field((await h2.ReadResponseAsync(3)).Trailers, "grpc-status").Should().Be("0");
    }
}

public sealed class GrpcLoopSafetyTestsOnIoUring : GrpcLoopSafetyTests
{
    // Without io_uring this runs on epoll: the sockets transport has no loop thread to hold.
    protected override TransportKind Transport => Hyperion.Native.IoUringSupport.IsSupported ? TransportKind.IoUring : TransportKind.Epoll;
}

public sealed class GrpcLoopSafetyTestsOnEpoll : GrpcLoopSafetyTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
