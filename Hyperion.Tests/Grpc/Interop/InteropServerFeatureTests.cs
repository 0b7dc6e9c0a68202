using Grpc.Core;
using Grpc.Testing;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Grpc.Interop;

/// <summary>
/// Server features of the interop TestService that the 18 cases do not reach: ResponseParameters.interval_us pacing
/// (on a fake clock), HalfDuplexCall, a server's own deadline ending a call on a sleeping handler, and the refusals of
/// CompressedRequest and UnaryCall.
/// </summary>
public abstract class InteropServerFeatureTests : TransportTests
{
    [Fact]
    public async Task Interval_us_holds_each_response_until_the_clock_has_moved_that_far_since_the_previous_one()
    {
        await using var h = await InteropHarness.StartAsync(StartAsync, tls: false, fakeClock: true);
        await h.SettleConnectionAsync();
        var request = new StreamingOutputCallRequest();
        request.ResponseParameters.Add(new ResponseParameters { Size = 1 });
        request.ResponseParameters.Add(new ResponseParameters { Size = 2, IntervalUs = 500_000 });
        request.ResponseParameters.Add(new ResponseParameters { Size = 3, IntervalUs = 300_000 });
        using var call = h.Client.StreamingOutputCall(request);

        (await call.ResponseStream.MoveNext()).Should().BeTrue();
        call.ResponseStream.Current.Payload.Body.Length.Should().Be(1);

        // The clock moves in 50 ms steps until the next response arrives. Counted from the first response, the second
        // cannot come before 500 ms and the third before 800 ms have passed on the server's clock (each pause starts
        // after the previous response was sent, so at or after the steps already counted; none ends early).
        var advanced = TimeSpan.Zero;
        advanced += await AdvanceUntilAsync(h, call.ResponseStream.MoveNext());
        advanced.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(500));
        call.ResponseStream.Current.Payload.Body.Length.Should().Be(2);
        advanced += await AdvanceUntilAsync(h, call.ResponseStream.MoveNext());
        advanced.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(800), "interval_us accumulates from one response to the next");
        call.ResponseStream.Current.Payload.Body.Length.Should().Be(3);

        (await call.ResponseStream.MoveNext()).Should().BeFalse();
        call.GetStatus().StatusCode.Should().Be(StatusCode.OK);
    }

    [Fact]
    public async Task HalfDuplexCall_answers_every_buffered_request_in_order_after_the_half_close()
    {
        await using var h = await InteropHarness.StartAsync(StartAsync, tls: false);
        using var call = h.Client.HalfDuplexCall();
        foreach (int[] sizes in new[] { new[] { 3, 5 }, new[] { 7 } })
        {
            var request = new StreamingOutputCallRequest();
            request.ResponseParameters.AddRange(sizes.Select(s => new ResponseParameters { Size = s }));
            await call.RequestStream.WriteAsync(request);
        }

        await call.RequestStream.CompleteAsync();

        var received = new List<int>();
        while (await call.ResponseStream.MoveNext())
        {
            received.Add(call.ResponseStream.Current.Payload.Body.Length);
        }

        received.Should().Equal(3, 5, 7);
        call.GetStatus().StatusCode.Should().Be(StatusCode.OK);
    }

    [Fact]
    public async Task The_servers_own_deadline_ends_a_call_on_a_sleeping_handler_with_DEADLINE_EXCEEDED()
    {
        // timeout_on_sleeping_server with the deadline enforced by the server: grpc-timeout carries the client's 9 s, and
        // the server's clock is moved past it at once (staying under the connection's 10 s SETTINGS ACK timeout). The
        // server's log line says the server ended the call, not the client's own timer, which would fire 9 s later.
        await using var h = await InteropHarness.StartAsync(StartAsync, tls: false, fakeClock: true);
        await h.SettleConnectionAsync();
        using var call = h.Client.FullDuplexCall(deadline: DateTime.UtcNow.AddSeconds(9));
        await call.RequestStream.WriteAsync(new StreamingOutputCallRequest { Payload = new Payload { Body = Google.Protobuf.ByteString.CopyFrom(new byte[27182]) } });
        await h.Observer.Started(InteropHarness.Method("FullDuplexCall")).WaitAsync(TimeSpan.FromSeconds(10));
        var next = call.ResponseStream.MoveNext();

        h.Clock!.Advance(TimeSpan.FromSeconds(9.5));

        var error = await FluentActions.Awaiting(() => next).Should().ThrowAsync<RpcException>();
        error.Which.StatusCode.Should().Be(StatusCode.DeadlineExceeded);
        var handler = await h.Observer.Finished(InteropHarness.Method("FullDuplexCall")).WaitAsync(TimeSpan.FromSeconds(10));
        handler.TokenCancelled.Should().BeTrue("the deadline cancels the handler's token");
        h.Server.Logged("GrpcDeadlineExceeded").Should().BeTrue("the server's deadline ended the call");
    }

    [Fact]
    public async Task CompressedRequest_refuses_a_compressed_message_that_says_it_is_not_and_an_unknown_payload_type()
    {
        await using var h = await InteropHarness.StartAsync(StartAsync, tls: false);
        var compress = new Metadata { { "grpc-internal-encoding-request", "gzip" } };

        var mislabelled = await FluentActions.Awaiting(async () => await h.Client.UnaryCallAsync(new SimpleRequest { ExpectCompressed = new BoolValue { Value = false }, ResponseSize = 1 }, compress))
            .Should().ThrowAsync<RpcException>();
        mislabelled.Which.StatusCode.Should().Be(StatusCode.InvalidArgument);

        // UnaryCall's definition: a response_type the server does not support is INVALID_ARGUMENT.
        var unknownType = await FluentActions.Awaiting(async () => await h.Client.UnaryCallAsync(new SimpleRequest { ResponseType = (PayloadType)1, ResponseSize = 1 }))
            .Should().ThrowAsync<RpcException>();
        unknownType.Which.StatusCode.Should().Be(StatusCode.InvalidArgument);

        // Without expect_compressed the server takes either.
        (await h.Client.UnaryCallAsync(new SimpleRequest { ResponseSize = 7 }, compress)).Payload.Body.Length.Should().Be(7);
    }

    private static async Task<TimeSpan> AdvanceUntilAsync(InteropHarness h, Task<bool> next)
    {
        var advanced = TimeSpan.Zero;
        for (int i = 0; i < 200 && !next.IsCompleted; i++)
        {
            await Task.WhenAny(next, Task.Delay(10));
            if (!next.IsCompleted)
            {
                h.Clock!.Advance(TimeSpan.FromMilliseconds(50));
                advanced += TimeSpan.FromMilliseconds(50);
            }
        }

        next.IsCompleted.Should().BeTrue("the paced response arrives once the clock has moved far enough");
        (await next).Should().BeTrue();
        return advanced;
    }
}

public sealed class InteropServerFeatureTestsOnSockets : InteropServerFeatureTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class InteropServerFeatureTestsOnIoUring : InteropServerFeatureTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class InteropServerFeatureTestsOnEpoll : InteropServerFeatureTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
