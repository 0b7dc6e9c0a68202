using System.Net;
using System.Net.Sockets;
using System.Text;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Native;

/// <summary>
/// Clients that end their connections with a TCP reset (browsers, load balancers, health checkers) must cost nobody
/// else anything. On io_uring a shutdown queued for a closed connection used to land on the next connection that
/// reused the descriptor number, which the server then closed before answering. Run once per transport.
/// </summary>
public abstract class ResetChurnTests : TransportTests
{
    private const int Rounds = 2000;

    private static readonly byte[] Get = Encoding.ASCII.GetBytes("GET /static HTTP/1.1\r\nHost: x\r\n\r\n");
    private static readonly byte[] GetClose = Encoding.ASCII.GetBytes("GET /static HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

    private static Action<HyperionServer> Routes => s =>
    {
        s.UseHttp2();
        s.HandleStatic("GET", "/static", "ok");
        s.Handle("GET", "/dynamic", _ => RackResponse.Text(200, "dyn"));
    };

    [Fact]
    public async Task Connections_reset_by_their_clients_cost_no_other_connection_anything()
    {
        await using var ts = await StartAsync(Routes);
        using var churnDone = new CancellationTokenSource();

        // Keep-alive clients that must see every answer on one connection each while the churn runs.
        var steady = Enumerable.Range(0, 4).Select(i => Task.Run(() => KeepAliveClientAsync(ts.Port, i % 2 == 0 ? "/static" : "/dynamic", churnDone.Token))).ToArray();

        var unanswered = new List<string>();
        for (int round = 0; round < Rounds; round++)
        {
            using var socket = await ConnectAsync(ts.Port);
            switch (round % 4)
            {
                case 0:
                case 1:
                    // The pattern: request, full answer, reset. The *next* connection is where it hurt.
                    await socket.SendAsync(Get, SocketFlags.None);
                    if (await ReadHeadAsync(socket) is not { } head || !head.StartsWith("HTTP/1.1 200", StringComparison.Ordinal))
                    {
                        unanswered.Add($"round {round}: no answer before the server closed");
                    }

                    break;
                case 2:
                    // Reset while the server may still be writing the answer.
                    await socket.SendAsync(Get, SocketFlags.None);
                    break;
                case 3:
                    // An h2c client that resets right after its preface.
                    await socket.SendAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0"u8.ToArray(), SocketFlags.None);
                    break;
            }

            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }

        await churnDone.CancelAsync();
        var steadyResults = await Task.WhenAll(steady);

        unanswered.Should().BeEmpty("a connection opened after another client's reset is a healthy connection");
        steadyResults.Should().OnlyContain(r => r.Error == null, "no keep-alive client may lose its connection: {0}", string.Join("; ", steadyResults.Select(r => r.Error)));
        steadyResults.Sum(r => r.Answered).Should().BeGreaterThan(0);
        ts.Logs.Lines.Should().NotContain(l => l.EventId.Name == "LoopFailed");

        // The server is still whole: a fresh client is answered.
        using var client = ts.CreateHttpClient();
        (await client.GetStringAsync("/static")).Should().Be("ok");
    }

    [Fact]
    public async Task Connection_close_responses_end_with_a_clean_FIN_never_a_reset()
    {
        await using var ts = await StartAsync(Routes);
        const int Clients = 32;
        const int PerClient = Rounds / Clients;
        var results = await Task.WhenAll(Enumerable.Range(0, Clients).Select(_ => Task.Run(async () =>
        {
            var failures = new List<string>();
            for (int i = 0; i < PerClient; i++)
            {
                using var socket = await ConnectAsync(ts.Port);
                await socket.SendAsync(GetClose, SocketFlags.None);
                try
                {
                    var received = await ReadToEndAsync(socket);
                    if (!received.StartsWith("HTTP/1.1 200", StringComparison.Ordinal) || !received.EndsWith("ok", StringComparison.Ordinal))
                    {
                        failures.Add($"incomplete answer before FIN: {received.Length} bytes");
                    }
                }
                catch (SocketException ex)
                {
                    failures.Add($"{ex.SocketErrorCode} instead of a FIN");
                }
            }

            return failures;
        })));

        results.SelectMany(f => f).Should().BeEmpty("every Connection: close answer ends with FIN after the whole response");
    }

    private static async Task<Socket> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, port);
        return socket;
    }

    private static async Task<(int Answered, string? Error)> KeepAliveClientAsync(int port, string path, CancellationToken stop)
    {
        using var connection = await RawConnection.ConnectAsync(port);
        var request = $"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n";
        int answered = 0;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await connection.SendAsync(request);
                var response = await connection.ReadResponseAsync(timeout: TimeSpan.FromSeconds(20));
                if (response.Status != 200)
                {
                    return (answered, $"{path}: status {response.Status}");
                }

                answered++;
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
        {
            return (answered, $"{path}: {ex.GetType().Name} after {answered} answers: {ex.Message}");
        }

        return (answered, null);
    }

    /// <summary>The response head, or null when the server closed (FIN or reset) before sending one.</summary>
    private static async Task<string?> ReadHeadAsync(Socket socket)
    {
        var buffer = new byte[4096];
        var received = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            while (!received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (n == 0)
                {
                    return null;
                }

                received.Append(Encoding.Latin1.GetString(buffer, 0, n));
            }
        }
        catch (SocketException)
        {
            return null;
        }

        return received.ToString();
    }

    /// <summary>Everything up to the server's FIN; a reset throws <see cref="SocketException"/>.</summary>
    private static async Task<string> ReadToEndAsync(Socket socket)
    {
        var buffer = new byte[4096];
        var received = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            received.Append(Encoding.Latin1.GetString(buffer, 0, n));
        }

        return received.ToString();
    }
}

public sealed class ResetChurnTestsOnIoUring : ResetChurnTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class ResetChurnTestsOnEpoll : ResetChurnTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}

public sealed class ResetChurnTestsOnSockets : ResetChurnTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}
