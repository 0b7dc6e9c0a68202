using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Http1;

public class SmokeTests
{
    [Fact]
    public async Task Static_route_answers_over_a_real_socket()
    {
        await using var ts = await TestServer.StartAsync(s => s.HandleStatic("GET", "/hello", "Hello, World!"));
        using var c = await ts.ConnectAsync();
        await c.SendAsync("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
        var r = await c.ReadResponseAsync();
        r.Status.Should().Be(200);
        r.BodyText.Should().Be("Hello, World!");
        r.Header("Content-Type").Should().Be("text/plain");
        r.Header("Date").Should().NotBeNull();
    }
}
