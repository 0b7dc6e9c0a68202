using Grpc.Core;
using Hyperion;
using Hyperion.Tests.Grpc.Protos;
using Hyperion.Tests.Http2;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Grpc;

/// <summary>grpc-timeout on the server's clock (a fake one here), and client cancellation reaching the handler.</summary>
public abstract class GrpcDeadlineTests : GrpcTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_deadline_cancels_the_handlers_token_and_ends_the_call_with_DEADLINE_EXCEEDED(bool tls)
    {
        var clock = new TestClock();
        var started = new TaskCompletionSource<DateTime>(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var greeter = new ScriptedGreeter
        {
            Unary = async (r, c) =>
            {
                using var reg = c.CancellationToken.Register(() => cancelled.TrySetResult());
                started.SetResult(c.Deadline);
                await Task.Delay(Timeout.Infinite, c.CancellationToken);
                return new HelloReply();
            },
        };
        await using var ts = await StartGreeterAsync(greeter, tls, options: o => o.TimeProvider = clock.Time);
        var (channel, client) = Connect(ts, tls);
        using var _ = channel;

        // The client's own deadline (real time) is far enough off that only the server's fake clock ends the call; the
        // clock moves less than HTTP/2's SETTINGS ack timeout (10 s), which runs on the same clock.
        var call = client.SayHelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(8));
        var deadline = await started.Task.WaitAsync(TimeSpan.FromSeconds(5));
        var now = clock.Time.GetUtcNow().UtcDateTime;
        deadline.Should().BeAfter(now.AddSeconds(6)).And.BeOnOrBefore(now.AddSeconds(8));
        cancelled.Task.IsCompleted.Should().BeFalse();

        clock.Advance(TimeSpan.FromSeconds(9));

        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
        var ex = await FluentActions.Awaiting(async () => await call.ResponseAsync.WaitAsync(TimeSpan.FromSeconds(5))).Should().ThrowAsync<RpcException>();
        ex.Which.StatusCode.Should().Be(StatusCode.DeadlineExceeded, ex.Which.Status.Detail);
    }

    [Fact]
    public async Task A_handler_that_ignores_its_token_still_ends_at_the_deadline()
    {
        var clock = new TestClock();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var never = new TaskCompletionSource<HelloReply>();
        var greeter = new ScriptedGreeter
        {
            Unary = (r, c) =>
            {
                started.SetResult();
                return never.Task;
            },
        };
        await using var ts = await StartGreeterAsync(greeter, options: o => o.TimeProvider = clock.Time);
        var (channel, client) = Connect(ts);
        using var _ = channel;

        var call = client.SayHelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(8));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(5));
        clock.Advance(TimeSpan.FromSeconds(9));

        var ex = await FluentActions.Awaiting(async () => await call.ResponseAsync.WaitAsync(TimeSpan.FromSeconds(5))).Should().ThrowAsync<RpcException>();
        ex.Which.StatusCode.Should().Be(StatusCode.DeadlineExceeded, ex.Which.Status.Detail);
    }

    [Fact]
    public async Task Past_the_deadline_a_stream_still_sending_gets_DEADLINE_EXCEEDED_then_RST_STREAM_CANCEL()
    {
        var clock = new TestClock();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var greeter = new ScriptedGreeter
        {
            Duplex = async (requests, responses, c) =>
            {
                started.SetResult();
                await Task.Delay(Timeout.Infinite, c.CancellationToken);
            },
        };
        await using var ts = await StartGreeterAsync(greeter, options: o => o.TimeProvider = clock.Time);
        await using var h2 = await H2RawClient.ConnectAsync(ts.Port);

        await h2.SendHeadersAsync(1, endStream: false, GrpcRaw.Headers(GrpcRaw.Chat, ("grpc-timeout", "1S")));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(5));
        clock.Advance(TimeSpan.FromSeconds(2));

        var end = await h2.ExpectAsync(f => f.StreamId == 1 && f.Type == H2.Headers, "the call's end");
        end.Has(H2.EndStream).Should().BeTrue();
        GrpcRaw.Field(end.Fields!, ":status").Should().Be("200");
        GrpcRaw.Field(end.Fields!, "grpc-status").Should().Be("4");
        var rst = await h2.ExpectRstAsync(1);
        rst.Type.Should().Be(H2.RstStream);
        rst.ErrorCode.Should().Be(H2.Cancel);
    }

    [Fact]
    public async Task An_invalid_timeout_is_ignored_with_one_log_line()
    {
        DateTime? deadline = null;
        var greeter = new ScriptedGreeter
        {
            Unary = (r, c) =>
            {
                deadline = c.Deadline;
                return Task.FromResult(new HelloReply { Message = "fine" });
            },
        };
        await using var ts = await StartGreeterAsync(greeter);
        await using var h2 = await H2RawClient.ConnectAsync(ts.Port);

        await h2.SendHeadersAsync(1, endStream: false, GrpcRaw.Headers(GrpcRaw.SayHello, ("grpc-timeout", "123456789S")));
        await h2.SendAsync(GrpcRaw.Data(1, GrpcRaw.Message(new HelloRequest())));
        var response = await h2.ReadResponseAsync(1);

        GrpcRaw.Field(response.Trailers, "grpc-status").Should().Be("0");
        HelloReply.Parser.ParseFrom(GrpcRaw.Messages(response.Body).Single()).Message.Should().Be("fine");
        deadline.Should().Be(DateTime.MaxValue);
        ts.Logs.Lines.Count(l => l.EventId.Name == "GrpcInvalidTimeout" && l.Message.Contains("123456789S", StringComparison.Ordinal)).Should().Be(1);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_client_cancelling_the_call_cancels_the_handlers_token(bool tls)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var greeter = new ScriptedGreeter
        {
            ServerStream = async (r, w, c) =>
            {
                using var reg = c.CancellationToken.Register(() => cancelled.TrySetResult());
                await w.WriteAsync(new HelloReply { Message = "first" });
                started.SetResult();
                await Task.Delay(Timeout.Infinite, c.CancellationToken);
            },
        };
        await using var ts = await StartGreeterAsync(greeter, tls);
        var (channel, client) = Connect(ts, tls);
        using var _ = channel;
        using var cts = new CancellationTokenSource();

        using var call = client.CountUp(new HelloRequest(), cancellationToken: cts.Token);
        (await call.ResponseStream.MoveNext()).Should().BeTrue();
        await started.Task.WaitAsync(TimeSpan.FromSeconds(5));
        cancelled.Task.IsCompleted.Should().BeFalse();
        cts.Cancel();

        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }
}

public sealed class GrpcDeadlineTestsOnSockets : GrpcDeadlineTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class GrpcDeadlineTestsOnIoUring : GrpcDeadlineTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class GrpcDeadlineTestsOnEpoll : GrpcDeadlineTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
