using System.Net;
using System.Net.Sockets;
using System.Text;

namespace IdleClients;

/// <summary>Opens keep-alive connections that each complete one request and then sit idle until disposed.</summary>
internal sealed class IdleConnectionPool : IDisposable
{
    private readonly IPEndPoint _endpoint;
    private readonly byte[] _request;
    private readonly int _concurrency;
    private readonly List<Socket> _open = [];
    private readonly Lock _gate = new();
    private int _errors;

    public IdleConnectionPool(IPEndPoint endpoint, string path, int concurrency)
    {
        _endpoint = endpoint;
        _request = Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {endpoint}\r\n\r\n");
        _concurrency = concurrency;
    }

    public int OpenCount
    {
        get
        {
            lock (_gate)
            {
                return _open.Count;
            }
        }
    }

    public int ErrorCount => Volatile.Read(ref _errors);

    public Exception? LastError { get; private set; }

    /// <summary>Whether <see cref="Dispose"/> resets connections (RST) rather than closing them with FIN.</summary>
    public bool Reset { get; set; } = true;

    /// <summary>Opens connections until <paramref name="total"/> are open, at most <c>concurrency</c> connecting at once
    /// (the server's accept backlog is finite).</summary>
    public async Task GrowToAsync(int total)
    {
        int missing = total - OpenCount;
        if (missing <= 0)
        {
            return;
        }

        int next = 0;
        var workers = new Task[Math.Min(_concurrency, missing)];
        for (int w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                while (Interlocked.Increment(ref next) <= missing)
                {
                    await OpenOneAsync().ConfigureAwait(false);
                }
            });
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
    }

    private async Task OpenOneAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(_endpoint, timeout.Token).ConfigureAwait(false);
            await socket.SendAsync(_request, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            await ReadOneResponseAsync(socket, timeout.Token).ConfigureAwait(false);
            lock (_gate)
            {
                _open.Add(socket);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or InvalidDataException)
        {
            Interlocked.Increment(ref _errors);
            LastError = e;
            socket.Dispose();
        }
    }

    // Reads one response with a Content-Length or chunked body (what the bench peers send), nothing more.
    private static async Task ReadOneResponseAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        int filled = 0;
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw new InvalidDataException("connection closed before the response was complete");
            }

            filled += n;
            if (IsComplete(buffer.AsSpan(0, filled)))
            {
                return;
            }

            if (filled == buffer.Length)
            {
                throw new InvalidDataException("response larger than 4 KiB");
            }
        }
    }

    private static bool IsComplete(ReadOnlySpan<byte> data)
    {
        int headEnd = data.IndexOf("\r\n\r\n"u8);
        if (headEnd < 0)
        {
            return false;
        }

        string head = Encoding.ASCII.GetString(data[..headEnd]);
        if (!head.StartsWith("HTTP/1.1 2", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"unexpected response: {head.Split('\r')[0]}");
        }

        ReadOnlySpan<byte> body = data[(headEnd + 4)..];
        foreach (string field in head.Split("\r\n"))
        {
            if (field.StartsWith("content-length:", StringComparison.OrdinalIgnoreCase))
            {
                return body.Length >= int.Parse(field.AsSpan(15).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        // No Content-Length: the peers only use chunked then; the last chunk ends the body.
        return body.EndsWith("0\r\n\r\n"u8);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (Socket socket in _open)
            {
                if (Reset)
                {
                    socket.LingerState = new LingerOption(true, 0);
                }

                socket.Dispose();
            }

            _open.Clear();
        }
    }
}
