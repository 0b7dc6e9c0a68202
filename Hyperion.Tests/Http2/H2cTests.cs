using System.Net.Sockets;
using System.Text;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Http2;

/// <summary>h2c on the HTTP/1.1 port: prior knowledge (RFC 9113 §3.3) and Upgrade: h2c (RFC 7540 §3.2), byte by byte.</summary>
public abstract class H2cTests : TransportTests, IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await StartAsync(s =>
        {
            s.UseHttp2();
            s.Handle("GET", "/proto", env => RackResponse.Text(200, env.Protocol + " " + env.ServerName));
        });
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static string Settings(params byte[][] settings) => Convert.ToBase64String(settings.SelectMany(s => s).ToArray()).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    [Fact]
    public async Task Preface_split_into_single_bytes_is_still_http2()
    {
        await using var c = await H2RawClient.ConnectAsync(_server.Port, handshake: false);
        foreach (byte b in H2RawClient.Preface)
        {
            await c.SendAsync([b]);
            await Task.Delay(1);
        }

        await c.SendAsync(H2.Frame(H2.Settings, 0, 0, []), H2.Frame(H2.Headers, H2.EndHeaders | H2.EndStream, 1, H2.Block(H2.Get("/proto"))));
        var r = await c.ReadResponseAsync(1);
        Encoding.ASCII.GetString(r.Body).Should().Be("HTTP/2 localhost");
    }

    [Fact]
    public async Task Preface_and_first_frames_in_one_packet_lose_nothing()
    {
        await using var c = await H2RawClient.ConnectAsync(_server.Port, handshake: false);
        await c.SendAsync(H2RawClient.Preface, H2.Frame(H2.Settings, 0, 0, []), H2.Frame(H2.Headers, H2.EndHeaders | H2.EndStream, 1, H2.Block(H2.Get("/proto"))), H2.Frame(H2.Headers, H2.EndHeaders | H2.EndStream, 3, H2.Block(H2.Get("/proto"))));
        (await c.ReadResponseAsync(1)).Status.Should().Be(200);
        (await c.ReadResponseAsync(3)).Status.Should().Be(200);
    }

    [Fact]
    public async Task Upgrade_answers_101_then_serves_the_request_as_stream_1()
    {
        using var raw = await RawConnection.ConnectAsync(_server.Port);
        await raw.SendAsync($"GET /proto HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: {Settings(H2.Setting(3, 100))}\r\n\r\n");
        var head = await ReadUntilAsync(raw.Socket, "\r\n\r\n");
        head.Should().StartWith("HTTP/1.1 101 Switching Protocols\r\n").And.Contain("Upgrade: h2c");

        await using var c = await H2RawClientOver(raw.Socket);
        await c.SendAsync(H2RawClient.Preface, H2.Frame(H2.Settings, 0, 0, []));
        var first = await c.ReadFrameAsync();
        first!.Type.Should().Be(H2.Settings, "the server preface comes first after 101");
        var r = await c.ReadResponseAsync(1);
        Encoding.ASCII.GetString(r.Body).Should().Be("HTTP/2 example.test");

        // The connection goes on as HTTP/2.
        await c.SendHeadersAsync(3, true, H2.Get("/proto"));
        (await c.ReadResponseAsync(3)).Status.Should().Be(200);
    }

    public static TheoryData<string, string> NotUpgraded() => new()
    {
        { "no HTTP2-Settings", "Connection: Upgrade\r\nUpgrade: h2c\r\n" },
        { "HTTP2-Settings not named in Connection", "Connection: Upgrade\r\nUpgrade: h2c\r\nHTTP2-Settings: \r\n" },
        { "two HTTP2-Settings", "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: \r\nHTTP2-Settings: \r\n" },
        { "settings not base64url", "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: !!!\r\n" },
        { "settings of 5 octets", "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAAAAAA\r\n" },
        { "invalid setting value", "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: " + Settings(H2.Setting(2, 2)) + "\r\n" },
        { "upgrade to something else", "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: websocket\r\nHTTP2-Settings: \r\n" },
        { "request with a body", "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: \r\nTransfer-Encoding: chunked\r\n" },
    };

    [Theory]
    [MemberData(nameof(NotUpgraded))]
    public async Task Requests_that_cannot_upgrade_are_served_over_http11(string name, string headers)
    {
        using var raw = await RawConnection.ConnectAsync(_server.Port);
        await raw.SendAsync($"GET /proto HTTP/1.1\r\nHost: a\r\n{headers}\r\n" + (headers.Contains("chunked", StringComparison.Ordinal) ? "3\r\nabc\r\n0\r\n\r\n" : string.Empty));
        var r = await raw.ReadResponseAsync();
        r.Status.Should().Be(200, name);
        r.BodyText.Should().Be("HTTP/1.1 a", name);
    }

    private static async Task<string> ReadUntilAsync(Socket socket, string terminator)
    {
        var sb = new StringBuilder();
        var one = new byte[1];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!sb.ToString().EndsWith(terminator, StringComparison.Ordinal))
        {
            if (await socket.ReceiveAsync(one, SocketFlags.None, cts.Token) == 0)
            {
                break;
            }

            sb.Append((char)one[0]);
        }

        return sb.ToString();
    }

    private static Task<H2RawClient> H2RawClientOver(Socket socket) => Task.FromResult(H2RawClient.Over(socket));
}

public sealed class H2cTestsOnSockets : H2cTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class H2cTestsOnIoUring : H2cTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class H2cTestsOnEpoll : H2cTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
