using System.IO.Pipelines;
using Hyperion;
using Hyperion.Internal.Infrastructure;
using Hyperion.Internal.Transport;
using Hyperion.Tests.Http2;
using Hyperion.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Hyperion.Tests.Api;

/// <summary>
/// Every fault is observed and logged at the level its cause deserves (issue 10, item 6): a peer's protocol error
/// or flood is one Information line with its error code; an exception no peer explains is an Error; an app that
/// throws after its connection was aborted still gets its end hooks run.
/// </summary>
public abstract class FaultLoggingTests : TransportTests
{
    [Fact]
    public async Task A_peers_http2_protocol_error_is_one_information_line_with_its_code()
    {
        await using var ts = await StartAsync(s => s.UseHttp2());
        await using var c = await H2RawClient.ConnectAsync(ts.Port);

        // RFC 9113 §6.1: DATA on stream 0 is a connection error of type PROTOCOL_ERROR.
        await c.SendFrameAsync(H2.Data, 0, 0, new byte[1]);
        var goAway = await c.ExpectGoAwayAsync();
        goAway.ErrorCode.Should().Be(H2.ProtocolError);

        var lines = ts.Logs.Lines.Where(l => l.EventId.Name == "ProtocolError").ToList();
        lines.Should().ContainSingle();
        lines[0].Level.Should().Be(LogLevel.Information);
        lines[0].Message.Should().Contain("ProtocolError").And.Contain("0x1");
    }

    [Fact]
    public async Task An_http2_flood_is_one_information_line_with_enhance_your_calm()
    {
        await using var ts = await StartAsync(s => s.UseHttp2(new Http2Options { MaxControlFramesPerSecond = 100 }));
        await using var c = await H2RawClient.ConnectAsync(ts.Port);
        await c.SendAsync([.. Enumerable.Range(0, 500).Select(_ => H2.Frame(H2.Ping, 0, 0, new byte[8]))]);
        var goAway = await c.ExpectGoAwayAsync();
        goAway.ErrorCode.Should().Be(H2.EnhanceYourCalm);

        var lines = ts.Logs.Lines.Where(l => l.EventId.Name == "ProtocolError").ToList();
        lines.Should().ContainSingle();
        lines[0].Level.Should().Be(LogLevel.Information);
        lines[0].Message.Should().Contain("EnhanceYourCalm").And.Contain("0xb");
    }

    [Fact]
    public async Task An_app_that_throws_after_its_connection_was_aborted_still_runs_the_end_hooks()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ended = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ts = await StartAsync(s =>
        {
            s.Handle("GET", "/slow", async env =>
            {
                entered.TrySetResult();
                await release.Task;
                throw new InvalidOperationException("app failed after the abort");
            });
            s.OnRequestEnd((env, response, error) => ended.TrySetResult(error));
        });

        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // The stop timeout passes with the request in flight: the connection is aborted under the app.
        await ts.Server.StopAsync(TimeSpan.FromMilliseconds(50));
        ts.Logs.Lines.Should().Contain(l => l.EventId.Name == "StopForced");
        release.SetResult();

        var error = await ended.Task.WaitAsync(TimeSpan.FromSeconds(10));
        error.Should().BeOfType<InvalidOperationException>().Which.Message.Should().Be("app failed after the abort");
        await WaitForAsync(() => ts.Logs.Lines.Any(l => l.EventId.Name == "AppError"));
        ts.Logs.Lines.Should().ContainSingle(l => l.EventId.Name == "AppError").Which.Level.Should().Be(LogLevel.Error);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (int i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
        }
    }
}

public sealed class FaultLoggingTestsOnSockets : FaultLoggingTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class FaultLoggingTestsOnIoUring : FaultLoggingTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class FaultLoggingTestsOnEpoll : FaultLoggingTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}

/// <summary>Faults that need no socket to provoke: a transport writer that misbehaves, a task nobody awaits.</summary>
public sealed class ConnectionFaultLoggingTests
{
    [Fact]
    public async Task An_exception_no_peer_explains_is_logged_as_an_error()
    {
        await using var ts = await TestServer.StartAsync(s => s.HandleStatic("GET", "/s", "ok"));
        var input = new Pipe();
        var output = new MisusedWriter(new Pipe().Writer);
        var connection = ts.Server.CreateConnection(input.Reader, output, new ConnectionContext(null, 80, "http", null));
        await input.Writer.WriteAsync("GET /s HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());

        var run = connection.RunAsync();
        await input.Writer.CompleteAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));

        var line = ts.Logs.Lines.Should().ContainSingle(l => l.EventId.Name == "ConnectionFault").Subject;
        line.Level.Should().Be(LogLevel.Error);
        line.Exception.Should().BeOfType<InvalidOperationException>().Which.Message.Should().Be("flush misused");
        ts.Logs.Lines.Should().NotContain(l => l.EventId.Name == "ConnectionError");
    }

    [Fact]
    public async Task A_background_task_that_faults_is_logged_as_an_error()
    {
        using var logs = new CapturingLoggerProvider();
        var log = new ServerLog(logs.Factory);
        var later = new TaskCompletionSource();
        BackgroundTasks.Observe(Task.FromException(new InvalidOperationException("at once")), log, "test");
        BackgroundTasks.Observe(later.Task, log, "test");
        BackgroundTasks.Observe(Task.CompletedTask, log, "test");
        later.SetException(new InvalidOperationException("later"));
        await Task.Yield();

        for (int i = 0; i < 200 && logs.Lines.Count < 2; i++)
        {
            await Task.Delay(10);
        }

        logs.Lines.Should().HaveCount(2).And.OnlyContain(l => l.EventId.Name == "BackgroundFault" && l.Level == LogLevel.Error);
        logs.Lines.Select(l => l.Exception!.Message).Should().BeEquivalentTo(["at once", "later"]);
    }

    /// <summary>A transport writer whose flush throws what a bug would (not an I/O error): the connection must call it a fault.</summary>
    private sealed class MisusedWriter(PipeWriter inner) : PipeWriter
    {
        public override void Advance(int bytes) => inner.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
            => throw new InvalidOperationException("flush misused");
    }
}
