using System.Net;
using System.Net.Sockets;

namespace Hyperion.Tests.Http2;

/// <summary>
/// A loopback relay between a real HTTP/2 client (HttpClient, Grpc.Net.Client) and the server that counts the PINGs
/// and PING ACKs each side sends (frame headers only; the bytes pass unchanged) and the connections the client opened,
/// so a test sees what a well-behaved client does on the wire without changing it.
/// </summary>
public sealed class H2PingCountingRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _pumps = [];
    private readonly int[] _counts = new int[4];
    private int _connections;
    private Task _accept = Task.CompletedTask;

    private H2PingCountingRelay(int target) => _target = target;

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    /// <summary>PINGs the client sent (not ACKs).</summary>
    public int ClientPings => Volatile.Read(ref _counts[0]);

    /// <summary>ACKs the client sent (answers to the server's PINGs).</summary>
    public int ClientPingAcks => Volatile.Read(ref _counts[1]);

    /// <summary>PINGs the server sent (not ACKs).</summary>
    public int ServerPings => Volatile.Read(ref _counts[2]);

    /// <summary>The connections the client opened: a GOAWAY makes a client open another.</summary>
    public int Connections => Volatile.Read(ref _connections);

    public static H2PingCountingRelay Start(int target)
    {
        var relay = new H2PingCountingRelay(target);
        relay._listener.Start();
        relay._accept = relay.AcceptAsync();
        return relay;
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var inbound = await _listener.AcceptSocketAsync(_stop.Token);
                inbound.NoDelay = true;
                Interlocked.Increment(ref _connections);
                var outbound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await outbound.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
                lock (_pumps)
                {
                    _pumps.Add(PumpAsync(inbound, outbound, H2RawClient.Preface.Length, 0));
                    _pumps.Add(PumpAsync(outbound, inbound, 0, 2));
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Copies frame by frame, counting PINGs in <c>_counts[slot]</c> and their ACKs in the next slot.</summary>
    private async Task PumpAsync(Socket from, Socket to, int preface, int slot)
    {
        var source = new NetworkStream(from, ownsSocket: true);
        var sink = new NetworkStream(to, ownsSocket: true);
        var header = new byte[9];
        var payload = new byte[1 << 24];
        try
        {
            if (preface > 0)
            {
                await source.ReadExactlyAsync(payload.AsMemory(0, preface), _stop.Token);
                await sink.WriteAsync(payload.AsMemory(0, preface), _stop.Token);
            }

            while (true)
            {
                await source.ReadExactlyAsync(header, _stop.Token);
                int length = (header[0] << 16) | (header[1] << 8) | header[2];
                await source.ReadExactlyAsync(payload.AsMemory(0, length), _stop.Token);
                await sink.WriteAsync(header, _stop.Token);
                await sink.WriteAsync(payload.AsMemory(0, length), _stop.Token);

                // Counted once forwarded, so a count the test sees is a frame already on its way to the other side.
                if (header[3] == H2.Ping)
                {
                    Interlocked.Increment(ref _counts[slot + ((header[4] & H2.Ack) != 0 ? 1 : 0)]);
                }
            }
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            await source.DisposeAsync();
            await sink.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accept;
        Task[] pumps;
        lock (_pumps)
        {
            pumps = [.. _pumps];
        }

        await Task.WhenAll(pumps);
        _stop.Dispose();
    }
}
