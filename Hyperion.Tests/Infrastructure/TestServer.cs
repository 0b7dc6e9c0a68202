using System.Net;
using Hyperion;
using Microsoft.Extensions.Time.Testing;

namespace Hyperion.Tests.Infrastructure;

/// <summary>A server on an ephemeral loopback port, stopped when disposed.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private TestServer(HyperionServer server, CapturingLoggerProvider logs)
    {
        Server = server;
        Logs = logs;
    }

    public HyperionServer Server { get; }

    public CapturingLoggerProvider Logs { get; }

    public int Port => Server.Port;

    public Uri BaseAddress => Server.BaseAddress;

    /// <summary>Creates, configures and starts a server on 127.0.0.1:0.</summary>
    public static async Task<TestServer> StartAsync(Action<HyperionServer> configure, Action<HyperionOptions>? options = null)
    {
        var logs = new CapturingLoggerProvider();
        var o = new HyperionOptions { Port = 0, LoggerFactory = logs.Factory };
        options?.Invoke(o);
        var server = new HyperionServer(o);
        configure(server);
        await server.StartAsync();
        return new TestServer(server, logs);
    }

    public Task<RawConnection> ConnectAsync() => RawConnection.ConnectAsync(Port);

    public HttpClient CreateHttpClient() => new(new SocketsHttpHandler { UseProxy = false, UseCookies = false, AllowAutoRedirect = false })
    {
        BaseAddress = BaseAddress,
        Timeout = TimeSpan.FromSeconds(15),
    };

    /// <summary>
    /// A client that speaks exactly <paramref name="version"/> ("1.1", or "2.0" for h2c by prior knowledge / h2 by ALPN),
    /// never falling back, and decodes no content encoding unless asked (so tests see the bytes the server sent).
    /// </summary>
    public HttpClient CreateHttpClient(string version, DecompressionMethods decompression = DecompressionMethods.None)
        => new(new SocketsHttpHandler { UseProxy = false, UseCookies = false, AllowAutoRedirect = false, AutomaticDecompression = decompression })
        {
            BaseAddress = BaseAddress,
            DefaultRequestVersion = Version.Parse(version),
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(15),
        };

    /// <summary>True when the server has a log line named <paramref name="eventName"/> (optionally containing <paramref name="text"/>).</summary>
    public bool Logged(string eventName, string? text = null)
        => Logs.Lines.Any(l => l.EventId.Name == eventName && (text is null || l.Message.Contains(text, StringComparison.Ordinal)));

    public async ValueTask DisposeAsync()
    {
        var stop = Server.StopAsync(TimeSpan.FromSeconds(5));
        if (Server.Options.TimeProvider is FakeTimeProvider fake)
        {
            // The stop timeout runs on the server's clock: a test that leaves a request in flight moves it.
            for (int i = 0; i < 20 && !stop.IsCompleted; i++)
            {
                await Task.WhenAny(stop, Task.Delay(50));
                fake.Advance(TimeSpan.FromSeconds(1));
            }
        }

        await stop;
        Logs.Dispose();
    }
}
