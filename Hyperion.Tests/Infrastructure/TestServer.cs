using Hyperion;

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

    public async ValueTask DisposeAsync()
    {
        await Server.StopAsync(TimeSpan.FromSeconds(5));
        Logs.Dispose();
    }
}
