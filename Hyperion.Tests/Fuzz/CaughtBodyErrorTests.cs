using System.Text;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Fuzz;

/// <summary>
/// An app that catches the IOException a malformed request body raises and answers anyway (fuzz/regressions/http1).
/// The connection used to fail its drain of the body with InvalidOperationException ("Reading is already in
/// progress"), logged as an app error, and cut the connection after the response; now the app's answer arrives in
/// full, the rejection is logged once, and the server closes cleanly without parsing what followed the bad framing.
/// </summary>
public abstract class CaughtBodyErrorTests : TransportTests
{
    [Theory]
    [InlineData("5\r\nhelloXX0\r\n\r\n", "InvalidChunkTerminator")]
    [InlineData("5\nhello\r\n0\r\n\r\n", "BareLineFeed")]
    [InlineData("zz\r\nhello\r\n0\r\n\r\n", "InvalidChunkSize")]
    public async Task App_that_catches_a_bad_chunked_body_is_answered_then_the_connection_closes(string body, string reason)
    {
        await using var ts = await StartAsync(s => s.Handle("POST", "/upload", async env =>
        {
            try
            {
                await env.Body.CopyToAsync(Stream.Null);
                return RackResponse.Text(200, "read");
            }
            catch (IOException)
            {
                return RackResponse.Text(422, "bad body");
            }
        }));
        using var c = await ts.ConnectAsync();

        // A pipelined request after the broken framing: it must not be answered (RFC 9112 §7.1: framing is lost).
        await c.SendAsync("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body
            + "GET /upload HTTP/1.1\r\nHost: x\r\n\r\n");
        var response = await c.ReadResponseAsync();

        response.Status.Should().Be(422);
        response.BodyText.Should().Be("bad body");
        (await c.IsClosedByServerAsync()).Should().BeTrue("the server closes after broken framing");
        Encoding.ASCII.GetString(c.Leftover).Should().BeEmpty("nothing after the bad body is parsed as a request");
        ts.Logs.Lines.Should().NotContain(l => l.EventId.Name == "AppError", "a client's bad body is not an app fault");
        ts.Logs.Lines.Where(l => l.EventId.Name == "RequestRejected").Should().ContainSingle()
            .Which.Message.Should().Contain(reason);
    }
}

public sealed class CaughtBodyErrorTestsOnSockets : CaughtBodyErrorTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class CaughtBodyErrorTestsOnIoUring : CaughtBodyErrorTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class CaughtBodyErrorTestsOnEpoll : CaughtBodyErrorTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
