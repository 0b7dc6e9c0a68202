using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Hyperion.Http2.Hpack;

namespace Hyperion.Tests.Http2;

/// <summary>A frame as read off the wire by <see cref="H2RawClient"/>.</summary>
public sealed record H2Frame(int Length, byte Type, byte Flags, int StreamId, byte[] Payload)
{
    /// <summary>The decoded field block, on the frame that completed it (HEADERS or CONTINUATION with END_HEADERS).</summary>
    public List<(string Name, string Value)>? Fields { get; set; }

    public bool Has(byte flag) => (Flags & flag) != 0;

    public uint ErrorCode => Type switch
    {
        H2.RstStream => BinaryPrimitives.ReadUInt32BigEndian(Payload),
        H2.GoAway => BinaryPrimitives.ReadUInt32BigEndian(Payload.AsSpan(4)),
        _ => throw new InvalidOperationException("Not an error frame."),
    };

    public int LastStreamId => (int)(BinaryPrimitives.ReadUInt32BigEndian(Payload) & 0x7FFFFFFF);

    public override string ToString() => $"{H2.Name(Type)} stream={StreamId} flags=0x{Flags:x2} len={Length}" + (Type is H2.RstStream or H2.GoAway ? $" error={ErrorCode}" : string.Empty);
}

/// <summary>A decoded response on one stream.</summary>
public sealed record H2Response(int Status, List<(string Name, string Value)> Headers, byte[] Body, List<(string Name, string Value)> Trailers)
{
    public string? Header(string name) => Headers.FirstOrDefault(h => h.Name == name).Value;
}

/// <summary>Frame types, flags and error codes, spelled out for tests (RFC 9113 §6, §7).</summary>
public static class H2
{
    public const byte Data = 0, Headers = 1, Priority = 2, RstStream = 3, Settings = 4, PushPromise = 5, Ping = 6, GoAway = 7, WindowUpdate = 8, Continuation = 9;
    public const byte EndStream = 0x1, Ack = 0x1, EndHeaders = 0x4, Padded = 0x8, PriorityFlag = 0x20;
    public const uint NoError = 0, ProtocolError = 1, InternalError = 2, FlowControlError = 3, StreamClosed = 5, FrameSizeError = 6, RefusedStream = 7, Cancel = 8, CompressionError = 9, EnhanceYourCalm = 11;

    public static string Name(byte type) => type switch
    {
        Data => "DATA",
        Headers => "HEADERS",
        Priority => "PRIORITY",
        RstStream => "RST_STREAM",
        Settings => "SETTINGS",
        PushPromise => "PUSH_PROMISE",
        Ping => "PING",
        GoAway => "GOAWAY",
        WindowUpdate => "WINDOW_UPDATE",
        Continuation => "CONTINUATION",
        _ => $"0x{type:x2}",
    };

    public static byte[] Frame(byte type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        var f = new byte[9 + payload.Length];
        f[0] = (byte)(payload.Length >> 16);
        f[1] = (byte)(payload.Length >> 8);
        f[2] = (byte)payload.Length;
        f[3] = type;
        f[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(5), (uint)streamId);
        payload.CopyTo(f.AsSpan(9));
        return f;
    }

    public static byte[] U32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, v);
        return b;
    }

    public static byte[] Setting(ushort id, uint value)
    {
        var b = new byte[6];
        BinaryPrimitives.WriteUInt16BigEndian(b, id);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(2), value);
        return b;
    }

    /// <summary>A header block of literals without indexing and without Huffman (RFC 7541 §6.2.2): byte-exact, any octets allowed.</summary>
    public static byte[] Block(params (string Name, string Value)[] fields)
    {
        var ms = new MemoryStream();
        foreach (var (name, value) in fields)
        {
            ms.WriteByte(0x00);
            WriteString(ms, Encoding.Latin1.GetBytes(name));
            WriteString(ms, Encoding.Latin1.GetBytes(value));
        }

        return ms.ToArray();
    }

    public static (string, string)[] Get(string path = "/static", params (string, string)[] extra)
        => [(":method", "GET"), (":scheme", "http"), (":path", path), (":authority", "localhost"), .. extra];

    public static (string, string)[] Post(string path, params (string, string)[] extra)
        => [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"), .. extra];

    private static void WriteString(MemoryStream ms, byte[] s)
    {
        // 7-bit prefix integer, H bit clear (RFC 7541 §5.1, §5.2).
        int len = s.Length;
        if (len < 127)
        {
            ms.WriteByte((byte)len);
        }
        else
        {
            ms.WriteByte(127);
            len -= 127;
            while (len >= 128)
            {
                ms.WriteByte((byte)((len & 0x7F) | 0x80));
                len >>= 7;
            }

            ms.WriteByte((byte)len);
        }

        ms.Write(s);
    }
}

/// <summary>
/// A raw HTTP/2 client over loopback TCP for protocol cases no well-behaved client produces. Sends the preface and
/// SETTINGS, acknowledges the server's SETTINGS, and reads frames with a timeout so a silent server fails a test.
/// </summary>
public sealed class H2RawClient : IAsyncDisposable
{
    public static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[1 << 20];
    private readonly HpackDecoder _decoder = new(4096, 1 << 20);
    private readonly MemoryStream _block = new();
    private int _start;
    private int _end;

    private static byte[] HeaderBlockOf(H2Frame f)
    {
        int start = 0;
        int end = f.Payload.Length;
        if (f.Has(H2.Padded))
        {
            start = 1;
            end -= f.Payload[0];
        }

        if (f.Has(H2.PriorityFlag))
        {
            start += 5;
        }

        return f.Payload[start..end];
    }

    private H2RawClient(Socket socket) => _socket = socket;

    public List<H2Frame> Received { get; } = [];

    /// <summary>Whether the server's SETTINGS are acknowledged as they are read (true) or left for the test to ACK.</summary>
    public bool AckSettings { get; set; } = true;

    /// <summary>Continues on a socket that already spoke HTTP/1.1 (after a 101); the socket stays owned by the caller's test.</summary>
    public static H2RawClient Over(Socket socket) => new(socket);

    public static async Task<H2RawClient> ConnectAsync(int port, bool handshake = true, params byte[][] settings)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, port);
        var c = new H2RawClient(socket);
        if (handshake)
        {
            await c.SendAsync(Preface, H2.Frame(H2.Settings, 0, 0, settings.SelectMany(s => s).ToArray()));
        }

        return c;
    }

    public async Task SendAsync(params byte[][] chunks)
    {
        var all = chunks.SelectMany(c => c).ToArray();
        try
        {
            await _socket.SendAsync(all, SocketFlags.None);
        }
        catch (SocketException)
        {
            // The server may already have closed after an error: the test then looks at what it sent.
        }
    }

    public Task SendFrameAsync(byte type, byte flags, int streamId, ReadOnlySpan<byte> payload) => SendAsync(H2.Frame(type, flags, streamId, payload));

    public Task SendHeadersAsync(int streamId, bool endStream, params (string Name, string Value)[] fields)
        => SendFrameAsync(H2.Headers, (byte)(H2.EndHeaders | (endStream ? H2.EndStream : 0)), streamId, H2.Block(fields));

    /// <summary>The next frame, or null when the server closed the connection.</summary>
    public async Task<H2Frame?> ReadFrameAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            if (_end - _start >= 9)
            {
                int len = (_buffer[_start] << 16) | (_buffer[_start + 1] << 8) | _buffer[_start + 2];
                if (_end - _start >= 9 + len)
                {
                    var f = new H2Frame(len, _buffer[_start + 3], _buffer[_start + 4], (int)(BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(_start + 5)) & 0x7FFFFFFF), _buffer.AsSpan(_start + 9, len).ToArray());
                    _start += 9 + len;
                    Received.Add(f);
                    if (f.Type is H2.Headers or H2.Continuation)
                    {
                        // Every block is decoded as it arrives so the HPACK table stays in step whatever the test skips.
                        _block.Write(f.Type == H2.Headers ? HeaderBlockOf(f) : f.Payload);
                        if (f.Has(H2.EndHeaders))
                        {
                            var sink = new ListSink();
                            _decoder.Decode(_block.ToArray(), sink);
                            _block.SetLength(0);
                            f.Fields = sink.Fields;
                        }
                    }

                    if (f.Type == H2.Settings && !f.Has(H2.Ack) && AckSettings)
                    {
                        await SendFrameAsync(H2.Settings, H2.Ack, 0, default);
                    }

                    return f;
                }
            }

            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            int n;
            try
            {
                n = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cts.Token);
            }
            catch (SocketException)
            {
                return null;
            }

            if (n == 0)
            {
                return null;
            }

            _end += n;
        }
    }

    /// <summary>Reads until a frame matches; throws with what arrived if the connection closes or time runs out first.</summary>
    public async Task<H2Frame> ExpectAsync(Func<H2Frame, bool> match, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (DateTime.UtcNow < deadline)
        {
            H2Frame? f;
            try
            {
                f = await ReadFrameAsync(deadline - DateTime.UtcNow);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            if (f is null)
            {
                throw new InvalidOperationException($"Connection closed before {what}; received: {string.Join(", ", Received)}");
            }

            if (match(f))
            {
                return f;
            }
        }

        throw new TimeoutException($"No {what}; received: {string.Join(", ", Received)}");
    }

    public Task<H2Frame> ExpectGoAwayAsync() => ExpectAsync(f => f.Type == H2.GoAway, "GOAWAY");

    public Task<H2Frame> ExpectRstAsync(int streamId) => ExpectAsync(f => (f.Type == H2.RstStream && f.StreamId == streamId) || f.Type == H2.GoAway, $"RST_STREAM on {streamId}");

    /// <summary>True when the server closes the connection (read returns 0) within the timeout.</summary>
    public async Task<bool> ClosedAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await ReadFrameAsync(deadline - DateTime.UtcNow) is null)
                {
                    return true;
                }
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>Reads one complete response on <paramref name="streamId"/> (HEADERS, DATA, trailers) up to END_STREAM.</summary>
    public async Task<H2Response> ReadResponseAsync(int streamId)
    {
        List<(string, string)>? headers = null;
        var trailers = new List<(string, string)>();
        var body = new MemoryStream();

        // Frames of this stream a test already consumed (e.g. waiting for the HEADERS) still count.
        foreach (var earlier in Received.Where(f => f.StreamId == streamId))
        {
            if (earlier.Fields is { } fields)
            {
                headers ??= fields;
            }
            else if (earlier.Type == H2.Data)
            {
                body.Write(earlier.Payload);
            }
        }

        while (true)
        {
            var f = await ExpectAsync(f => f.StreamId == streamId || f.Type == H2.GoAway, $"response on {streamId}");
            if (f.Type is H2.GoAway or H2.RstStream)
            {
                throw new InvalidOperationException($"Got {f} instead of a response; received: {string.Join(", ", Received)}");
            }

            if (f.Fields is { } fields)
            {
                if (headers is null)
                {
                    headers = fields;
                }
                else
                {
                    trailers = fields;
                }
            }
            else if (f.Type == H2.Data)
            {
                body.Write(f.Payload);
                if (f.Payload.Length > 0)
                {
                    await SendAsync(H2.Frame(H2.WindowUpdate, 0, 0, H2.U32((uint)f.Payload.Length)), H2.Frame(H2.WindowUpdate, 0, streamId, H2.U32((uint)f.Payload.Length)));
                }
            }

            if (f.Has(H2.EndStream) && f.Type is H2.Headers or H2.Data && (f.Type == H2.Data || f.Fields is not null))
            {
                var h = headers ?? [];
                return new H2Response(int.Parse(h.First(x => x.Item1 == ":status").Item2), h, body.ToArray(), trailers);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Task.Yield();
        _socket.Dispose();
    }

    private sealed class ListSink : IHpackHeaderSink
    {
        public List<(string, string)> Fields { get; } = [];

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => Fields.Add((Encoding.Latin1.GetString(name), Encoding.Latin1.GetString(value)));
    }
}
