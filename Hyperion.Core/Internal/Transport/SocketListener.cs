using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Hyperion.Internal.Infrastructure;

namespace Hyperion.Internal.Transport;

/// <summary>The managed transport: one listening socket, an accept loop, and a pipe pair per connection.</summary>
internal sealed class SocketListener
{
    private static readonly byte[] ServiceUnavailable = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray();

    private readonly HyperionServer _server;
    private readonly Socket _socket;
    private readonly ListenerSettings _listener;
    private readonly CancellationTokenSource _stop = new();
    private Task _acceptLoop = Task.CompletedTask;

    public SocketListener(HyperionServer server, IPEndPoint endpoint, ListenerSettings listener, int backlog)
    {
        _server = server;
        _listener = listener;
        _socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (endpoint.AddressFamily == AddressFamily.InterNetworkV6 && endpoint.Address.Equals(IPAddress.IPv6Any))
        {
            _socket.DualMode = true;
        }

        _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _socket.Bind(endpoint);
        _socket.Listen(backlog);
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    public IPEndPoint EndPoint { get; }

    public void Start() => _acceptLoop = Task.Run(AcceptLoopAsync);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException || _stop.IsCancellationRequested)
            {
                break;
            }
            catch (SocketException)
            {
                // EMFILE/ENFILE and aborted handshakes: back off briefly instead of spinning.
                await Task.Delay(10).ConfigureAwait(false);
                continue;
            }

            if (!_server.TryReserveConnection())
            {
                _server.Log.ConnectionLimit(client.RemoteEndPoint?.ToString() ?? "?");
                RefuseOverLimit(client, _listener.Tls is null);
                continue;
            }

            ThreadPool.UnsafeQueueUserWorkItem(static state => BackgroundTasks.Observe(state.Listener.RunConnectionAsync(state.Client), state.Listener._server.Log, "connection"), (Listener: this, Client: client), preferLocal: false);
        }
    }

    /// <summary>A cleartext client gets a 503; a TLS client only a close, since plain bytes would be a bogus TLS record.</summary>
    private static void RefuseOverLimit(Socket client, bool cleartext)
    {
        try
        {
            client.Blocking = false;
            if (cleartext)
            {
                client.Send(ServiceUnavailable, SocketFlags.None, out _);
            }

            client.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
        }
        finally
        {
            client.Dispose();
        }
    }

    private async Task RunConnectionAsync(Socket socket)
    {
        IProtocolConnection? connection = null;
        bool aborted = false;
        try
        {
            socket.NoDelay = true;
            var stream = new NetworkStream(socket, ownsSocket: false);
            var reader = PipeReader.Create(stream, _server.ReaderOptions);
            var writer = PipeWriter.Create(stream, _server.WriterOptions);
            var remote = socket.RemoteEndPoint as IPEndPoint;
            var context = new ConnectionContext(remote, EndPoint.Port, _listener, socket);
            context.Abort = () =>
            {
                aborted = true;
                socket.Dispose();
            };
            connection = _server.CreateConnection(reader, writer, context);
            _server.Track(connection);
            await connection.RunAsync().ConfigureAwait(false);
            if (!connection.EndedByPeer && !aborted)
            {
                await LingerAsync(socket).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException)
        {
            // Connection torn down before or during setup.
        }
        finally
        {
            socket.Dispose();
            if (connection is not null)
            {
                _server.Untrack(connection);
            }
            else
            {
                _server.ReleaseConnection();
            }
        }
    }

    /// <summary>
    /// Closing a socket with unread input makes the kernel send RST, which can destroy the response the
    /// client has not read yet (RFC 9112 §9.6). Half-close, then discard input briefly before closing.
    /// </summary>
    private static async Task LingerAsync(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Send);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            var buffer = new byte[1024];
            long discarded = 0;
            while (discarded < 1024 * 1024)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                discarded += n;
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    public void StopAccepting()
    {
        // Cancelling the accept wakes the loop even where closing a listener would not (Linux accept(2)).
        _stop.Cancel();
        _socket.Dispose();
    }

    public Task AcceptLoop => _acceptLoop;
}
