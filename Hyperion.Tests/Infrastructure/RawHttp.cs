using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Hyperion.Tests.Infrastructure;

/// <summary>A parsed HTTP/1.1 response as it came off the wire.</summary>
public sealed record RawResponse(int Status, string StatusLine, IReadOnlyList<(string Name, string Value)> Headers, byte[] Body)
{
    public string? Header(string name) => Headers.FirstOrDefault(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

    public string BodyText => Encoding.UTF8.GetString(Body);
}

/// <summary>
/// A loopback client that speaks raw bytes, for protocol edge cases no well-behaved client would send.
/// Every read is bounded by a timeout so a misbehaving server fails the test instead of hanging it.
/// </summary>
public sealed class RawConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly List<byte> _pending = [];
    private int _readSize = 8192;
    private int _pauseEveryReads;
    private TimeSpan _pause;
    private int _reads;

    private RawConnection(Socket socket) => _socket = socket;

    /// <summary>Connects; a small <paramref name="receiveBufferSize"/> (set before connecting) makes the server's sends back up sooner.</summary>
    public static async Task<RawConnection> ConnectAsync(int port, int? receiveBufferSize = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (receiveBufferSize is { } size)
        {
            socket.ReceiveBufferSize = size;
        }

        await socket.ConnectAsync(IPAddress.Loopback, port);
        return new RawConnection(socket);
    }

    /// <summary>Reads at most <paramref name="readSize"/> bytes at a time and pauses after every <paramref name="pauseEveryReads"/> reads: a slow client.</summary>
    public RawConnection ReadSlowly(int readSize, int pauseEveryReads, TimeSpan pause)
    {
        _readSize = readSize;
        _pauseEveryReads = pauseEveryReads;
        _pause = pause;
        return this;
    }

    public Socket Socket => _socket;

    public Task SendAsync(string text) => SendAsync(Encoding.Latin1.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        await _socket.SendAsync(bytes, SocketFlags.None);
    }

    /// <summary>Reads one response (Content-Length, chunked, or until close). HEAD responses: pass <paramref name="head"/>.</summary>
    public async Task<RawResponse> ReadResponseAsync(bool head = false, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            int end = IndexOf(_pending, "\r\n\r\n"u8);
            if (end >= 0)
            {
                var headText = Encoding.Latin1.GetString(_pending.GetRange(0, end).ToArray());
                _pending.RemoveRange(0, end + 4);
                var lines = headText.Split("\r\n");
                var statusLine = lines[0];
                int status = int.Parse(statusLine.Split(' ')[1]);
                var headers = lines.Skip(1).Select(l =>
                {
                    int c = l.IndexOf(':');
                    return (l[..c], l[(c + 1)..].Trim());
                }).ToList();
                if (status == 100)
                {
                    return new RawResponse(status, statusLine, headers, []);
                }

                var response = new RawResponse(status, statusLine, headers, []);
                byte[] body;
                if (head || status is 204 or 304)
                {
                    body = [];
                }
                else if (response.Header("Content-Length") is { } cl)
                {
                    body = await ReadExactAsync(int.Parse(cl), cts.Token);
                }
                else if (response.Header("Transfer-Encoding") is { } te && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
                {
                    body = await ReadChunkedAsync(cts.Token);
                }
                else
                {
                    body = await ReadToEndAsync(cts.Token);
                }

                return response with { Body = body };
            }

            if (!await FillAsync(cts.Token))
            {
                throw new IOException($"Connection closed before a full response head; got {_pending.Count} bytes: {Encoding.Latin1.GetString(_pending.ToArray())}");
            }
        }
    }

    /// <summary>True when the server closed the connection (EOF or reset) within the timeout, with no further bytes.</summary>
    public async Task<bool> IsClosedByServerAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
        try
        {
            while (true)
            {
                var buffer = new byte[4096];
                int n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0)
                {
                    return true;
                }

                _pending.AddRange(buffer.AsSpan(0, n).ToArray());
            }
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public byte[] Leftover => _pending.ToArray();

    /// <summary>Reads exactly <paramref name="count"/> more bytes (e.g. a body after <see cref="ReadHeadAsync"/>); throws if the server closes first.</summary>
    public async Task<byte[]> ReadBytesAsync(int count, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        return await ReadExactAsync(count, cts.Token);
    }

    /// <summary>Reads until the server closes the connection (EOF or reset) and returns the bytes not yet consumed.</summary>
    public async Task<byte[]> ReadUntilClosedAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        return await ReadToEndAsync(cts.Token);
    }

    private async Task<bool> FillAsync(CancellationToken ct)
    {
        var buffer = new byte[_readSize];
        int n;
        try
        {
            n = await _socket.ReceiveAsync(buffer, SocketFlags.None, ct);
        }
        catch (SocketException)
        {
            return false;
        }

        if (n == 0)
        {
            return false;
        }

        _pending.AddRange(buffer.AsSpan(0, n).ToArray());
        if (_pauseEveryReads > 0 && ++_reads % _pauseEveryReads == 0)
        {
            await Task.Delay(_pause, ct);
        }

        return true;
    }

    private async Task<byte[]> ReadExactAsync(int count, CancellationToken ct)
    {
        while (_pending.Count < count)
        {
            if (!await FillAsync(ct))
            {
                throw new IOException($"Connection closed after {_pending.Count} of {count} body bytes.");
            }
        }

        var body = _pending.GetRange(0, count).ToArray();
        _pending.RemoveRange(0, count);
        return body;
    }

    private async Task<byte[]> ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            int i = IndexOf(_pending, "\r\n"u8);
            if (i >= 0)
            {
                var line = _pending.GetRange(0, i).ToArray();
                _pending.RemoveRange(0, i + 2);
                return line;
            }

            if (!await FillAsync(ct))
            {
                throw new IOException("Connection closed inside chunked framing.");
            }
        }
    }

    private async Task<byte[]> ReadChunkedAsync(CancellationToken ct)
    {
        var body = new List<byte>();
        while (true)
        {
            var sizeLine = Encoding.ASCII.GetString(await ReadLineAsync(ct));
            int size = Convert.ToInt32(sizeLine.Split(';')[0], 16);
            if (size == 0)
            {
                while ((await ReadLineAsync(ct)).Length > 0)
                {
                    // trailers
                }

                return body.ToArray();
            }

            body.AddRange(await ReadExactAsync(size, ct));
            await ReadLineAsync(ct);
        }
    }

    /// <summary>Reads one chunked body and returns its trailer lines too.</summary>
    public async Task<(byte[] Body, List<string> Trailers)> ReadChunkedWithTrailersAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var body = new List<byte>();
        while (true)
        {
            var sizeLine = Encoding.ASCII.GetString(await ReadLineAsync(cts.Token));
            int size = Convert.ToInt32(sizeLine.Split(';')[0], 16);
            if (size == 0)
            {
                var trailers = new List<string>();
                byte[] line;
                while ((line = await ReadLineAsync(cts.Token)).Length > 0)
                {
                    trailers.Add(Encoding.Latin1.GetString(line));
                }

                return (body.ToArray(), trailers);
            }

            body.AddRange(await ReadExactAsync(size, cts.Token));
            await ReadLineAsync(cts.Token);
        }
    }

    /// <summary>Reads only the response head; leaves the body on the wire for the caller.</summary>
    public async Task<RawResponse> ReadHeadAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            int end = IndexOf(_pending, "\r\n\r\n"u8);
            if (end >= 0)
            {
                var headText = Encoding.Latin1.GetString(_pending.GetRange(0, end).ToArray());
                _pending.RemoveRange(0, end + 4);
                var lines = headText.Split("\r\n");
                var headers = lines.Skip(1).Select(l => (l[..l.IndexOf(':')], l[(l.IndexOf(':') + 1)..].Trim())).ToList();
                return new RawResponse(int.Parse(lines[0].Split(' ')[1]), lines[0], headers, []);
            }

            if (!await FillAsync(cts.Token))
            {
                throw new IOException("Connection closed before a full response head.");
            }
        }
    }

    private async Task<byte[]> ReadToEndAsync(CancellationToken ct)
    {
        while (await FillAsync(ct))
        {
        }

        var body = _pending.ToArray();
        _pending.Clear();
        return body;
    }

    private static int IndexOf(List<byte> haystack, ReadOnlySpan<byte> needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Count; i++)
        {
            bool match = true;
            for (int j = 0; j < needle.Length; j++)
            {
                if (haystack[i + j] != needle[j])
                {
                    match = false;
                    break;
                }
            }

            if (match)
            {
                return i;
            }
        }

        return -1;
    }

    public void Dispose() => _socket.Dispose();
}
