using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Grpc.Core;
using Hyperion.Http2.Hpack;

namespace GrpcLoad;

/// <summary>
/// One HTTP/2 connection of the raw gRPC client: h2c with prior knowledge (RFC 9113 §3.3), a blocking socket driven by
/// one thread. Each receive is parsed whole, and everything it calls for (the next requests, WINDOW_UPDATEs, ACKs) goes
/// out in one send: per message the client does a few comparisons, not a syscall, so it stays lighter than the server.
/// <see cref="Concurrency"/> calls are kept in flight, each on its own stream; every call is judged by its trailers'
/// grpc-status (PROTOCOL-HTTP2.md), its reply count and the replies' bytes.
/// </summary>
internal sealed partial class RawGrpcConnection : IDisposable
{
    private const byte Data = 0x0, Headers = 0x1, RstStream = 0x3, Settings = 0x4, PushPromise = 0x5, Ping = 0x6, GoAway = 0x7, WindowUpdate = 0x8, Continuation = 0x9;
    private const byte EndStream = 0x1, Ack = 0x1, EndHeaders = 0x4, Padded = 0x8, PriorityFlag = 0x20;
    private const int FrameHeaderLength = 9;
    private const int DefaultMaxFrameSize = 16_384;    // we never raise SETTINGS_MAX_FRAME_SIZE (RFC 9113 §6.5.2)
    private const int DefaultWindow = 65_535;
    private const uint CancelCode = 0x8;

    // Our receive windows, per stream and for the connection: h2load's defaults (2^30 - 1), so the server never waits
    // for us; the octets are given back once half a window is used.
    private const int ReceiveWindow = (1 << 30) - 1;

    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();
    private static readonly long CallDeadlineTicks = 10 * Stopwatch.Frequency;   // a stuck call fails, the run ends
    private static readonly long CheckTicks = Stopwatch.Frequency / 10;
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);
    private static readonly double MsPerTick = 1000.0 / Stopwatch.Frequency;

    private readonly Socket _socket;
    private readonly RawCallPlan _plan;
    private readonly byte[] _requestMessage;                       // the request, length-prefixed
    private readonly (byte[] Name, byte[] Value)[] _requestFields;
    private readonly HpackEncoder _encoder = new() { Indexing = HpackIndexing.All };
    private readonly HpackDecoder _decoder = new();
    private readonly ArrayBufferWriter<byte> _block = new(256);
    private readonly ResponseFieldSink _fields = new();
    private readonly Dictionary<int, RawStream> _streams = [];
    private readonly List<RawStream> _stampOnFlush = [];
    private readonly Queue<RawStream> _blocked = new();
    private readonly byte[] _in = new byte[256 * 1024];
    private byte[] _out = new byte[64 * 1024];
    private byte[] _continuation = new byte[DefaultMaxFrameSize];
    private int _inStart;
    private int _inEnd;
    private int _outLength;
    private int _continuationLength;
    private bool _headerBlockOpen;    // a HEADERS without END_HEADERS came: only its CONTINUATIONs may follow (§6.10)
    private int _continuationStream;
    private bool _continuationEndStream;
    private int _nextStreamId = 1;
    private long _sendWindow = DefaultWindow;
    private long _peerInitialWindow = DefaultWindow;
    private long _peerMaxStreams = long.MaxValue;
    private long _connectionUnacked;
    private bool _peerSettingsSeen;
    private string? _closed;          // why no more calls can start here ("client:goaway", "client:connection-lost", ...)
    private bool _dead;               // the socket is gone: nothing more arrives

    // One run's state.
    private RawCallStats _stats = new();
    private CallBudget _budget = new(0);
    private long _end;
    private long _now;
    private int _idleSlots;

    private RawGrpcConnection(Socket socket, Uri url, RawCallPlan plan, int concurrency)
    {
        _socket = socket;
        _plan = plan;
        Concurrency = concurrency;
        _requestMessage = new byte[5 + plan.Request.Length];
        BinaryPrimitives.WriteUInt32BigEndian(_requestMessage.AsSpan(1), (uint)plan.Request.Length);
        plan.Request.CopyTo(_requestMessage, 5);
        _requestFields =
        [
            (":method"u8.ToArray(), "POST"u8.ToArray()),
            (":scheme"u8.ToArray(), "http"u8.ToArray()),
            (":path"u8.ToArray(), Encoding.ASCII.GetBytes(plan.Path)),
            (":authority"u8.ToArray(), Encoding.ASCII.GetBytes(url.Authority)),
            ("content-type"u8.ToArray(), "application/grpc"u8.ToArray()),
            ("te"u8.ToArray(), "trailers"u8.ToArray()),
        ];
    }

    /// <summary>Calls kept in flight on this connection.</summary>
    public int Concurrency { get; }

    /// <summary>Connects, sends the preface and our SETTINGS, and waits for the server's SETTINGS.</summary>
    public static RawGrpcConnection Connect(Uri url, RawCallPlan plan, int concurrency)
    {
        if (url.Scheme != Uri.UriSchemeHttp)
        {
            throw new ArgumentException("the raw client speaks h2c only (http://)", nameof(url));
        }

        if (5 + plan.Request.Length > DefaultMaxFrameSize)
        {
            throw new ArgumentException("a request message must fit one DATA frame", nameof(plan));
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            // Synchronous connect keeps the socket in blocking mode: each Receive and Send is then one syscall.
            socket.Connect(url.Host, url.Port);
            socket.ReceiveTimeout = (int)(CheckTicks * 1000 / Stopwatch.Frequency);
            var connection = new RawGrpcConnection(socket, url, plan, concurrency);
            connection.Handshake();
            return connection;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Keeps <see cref="Concurrency"/> calls in flight until <paramref name="end"/> (or until the budget is spent), then
    /// lets the calls in flight finish. Runs on the calling thread; one thread per connection.
    /// </summary>
    public RawCallStats Run(long end, CallBudget budget)
    {
        _stats = new RawCallStats();
        _budget = budget;
        _end = end;
        _now = Stopwatch.GetTimestamp();
        _idleSlots = Concurrency;
        StartCalls(first: true);
        Flush();
        long nextCheck = _now + CheckTicks;
        while (!_dead && (_streams.Count > 0 || _idleSlots > 0))
        {
            Receive();
            if (_now >= nextCheck)
            {
                ExpireCalls();
                nextCheck = _now + CheckTicks;
            }

            StartCalls(first: false);
            Flush();
        }

        if (_dead)
        {
            FailAll("client:connection-lost");
        }

        return _stats;
    }

    public void Dispose() => _socket.Dispose();

    private void Handshake()
    {
        WriteRaw(Preface);
        Span<byte> settings = stackalloc byte[12];
        BinaryPrimitives.WriteUInt16BigEndian(settings, 0x2);                   // SETTINGS_ENABLE_PUSH = 0
        BinaryPrimitives.WriteUInt32BigEndian(settings[2..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(settings[6..], 0x4);              // SETTINGS_INITIAL_WINDOW_SIZE
        BinaryPrimitives.WriteUInt32BigEndian(settings[8..], ReceiveWindow);
        WriteFrame(Settings, 0, 0, settings);
        WriteWindowUpdate(0, ReceiveWindow - DefaultWindow);                    // the connection window has no setting (§6.9.2)
        Flush();
        long deadline = Stopwatch.GetTimestamp() + (long)(HandshakeTimeout.TotalSeconds * Stopwatch.Frequency);
        while (!_peerSettingsSeen)
        {
            // Calls wait for the server's SETTINGS: its MAX_CONCURRENT_STREAMS and window apply from the first one.
            if (_dead || Stopwatch.GetTimestamp() > deadline)
            {
                throw new IOException($"no SETTINGS from {_socket.RemoteEndPoint} ({_closed ?? "timed out"})");
            }

            Receive();
            Flush();
        }
    }

    // ---- calls --------------------------------------------------------------------------------------------------

    /// <param name="first">
    /// The run's first calls start even if its end has passed (a thread scheduled late on a busy core): every slot
    /// makes at least one call per run, so a run's call count does not depend on thread start-up.
    /// </param>
    private void StartCalls(bool first)
    {
        while (_idleSlots > 0)
        {
            if (_closed is not null)
            {
                // A call this connection can no longer make is an error: the run must not quietly lose load.
                for (int i = 0; i < _idleSlots && (_now < _end || first) && _budget.TryTake(); i++)
                {
                    _stats.Finish(_closed);
                }

                _idleSlots = 0;
                return;
            }

            if (_streams.Count >= _peerMaxStreams)
            {
                return;   // SETTINGS_MAX_CONCURRENT_STREAMS (RFC 9113 §5.1.2): wait for a stream to close
            }

            if ((_now >= _end && !first) || !_budget.TryTake())
            {
                _idleSlots = 0;
                return;
            }

            _idleSlots--;
            Open();
        }
    }

    private void Open()
    {
        if (_nextStreamId < 0)
        {
            _closed = "client:stream-ids-exhausted";
            _idleSlots++;
            return;
        }

        var s = new RawStream(_nextStreamId, _peerInitialWindow) { Deadline = _now + CallDeadlineTicks };
        _nextStreamId += 2;
        _streams.Add(s.Id, s);

        _block.ResetWrittenCount();
        _encoder.BeginBlock(_block);
        foreach (var (name, value) in _requestFields)
        {
            _encoder.EncodeHeader(_block, name, value);
        }

        WriteFrame(Headers, EndHeaders, s.Id, _block.WrittenSpan);
        _stampOnFlush.Add(s);   // the call starts with its HEADERS, even if its DATA must wait for window
        if (_plan.Kind == RawCallKind.Bidi)
        {
            s.AwaitingReply = true;
            SendRequest(s, endStream: false);
        }
        else
        {
            SendRequest(s, endStream: true);
        }
    }

    private void SendRequest(RawStream s, bool endStream)
    {
        int length = _requestMessage.Length;
        if (length > _sendWindow || length > s.SendWindow)
        {
            // RFC 9113 §6.9.1: no DATA beyond the server's window; sent when a WINDOW_UPDATE makes room.
            s.PendingRequest = true;
            s.PendingEnd = endStream;
            _blocked.Enqueue(s);
            return;
        }

        _sendWindow -= length;
        s.SendWindow -= length;
        WriteFrame(Data, endStream ? EndStream : (byte)0, s.Id, _requestMessage);
        s.HalfClosed |= endStream;
        _stampOnFlush.Add(s);
    }

    private void RetryBlocked()
    {
        for (int n = _blocked.Count; n > 0; n--)
        {
            RawStream s = _blocked.Dequeue();
            if (!s.Done)
            {
                s.PendingRequest = false;
                SendRequest(s, s.PendingEnd);
            }
        }
    }

    private void OnReply(RawStream s, int replies)
    {
        if (_plan.Kind != RawCallKind.Bidi)
        {
            s.Messages += replies;
            return;
        }

        if (replies > 1 || !s.AwaitingReply)
        {
            Finish(s, "client:unasked-reply", reset: true);
            return;
        }

        s.AwaitingReply = false;
        s.Rounds++;
        _stats.Messages++;
        _stats.LatenciesMs.Add((_now - s.Sent) * MsPerTick);
        if (_plan.Rounds > 0 ? s.Rounds < _plan.Rounds : _now < _end)
        {
            s.AwaitingReply = true;
            SendRequest(s, endStream: false);
        }
        else
        {
            WriteFrame(Data, EndStream, s.Id, default);
            s.HalfClosed = true;
            s.Deadline = _now + CallDeadlineTicks;
        }
    }

    /// <summary>The call's outcome once the server has ended the stream with trailers (or Trailers-Only).</summary>
    private string StatusOf(RawStream s, int grpcStatus)
    {
        if (s.HttpStatus != 200)
        {
            return "http:" + s.HttpStatus.ToString(CultureInfo.InvariantCulture);
        }

        if (grpcStatus != 0)
        {
            return grpcStatus switch
            {
                ResponseFieldSink.Absent => "client:no-grpc-status",
                ResponseFieldSink.Malformed => "client:bad-grpc-status",
                _ => ((StatusCode)grpcStatus).ToString(),
            };
        }

        if (s.Reader.Mismatch)
        {
            return "client:bad-reply";
        }

        if (s.Reader.InsideMessage)
        {
            return "client:partial-message";
        }

        if (_plan.Kind == RawCallKind.Bidi)
        {
            return !s.HalfClosed ? "client:ended-early" : s.AwaitingReply ? "client:missing-reply" : "OK";
        }

        return s.Messages < _plan.Replies ? "client:too-few-replies" : s.Messages > _plan.Replies ? "client:too-many-replies" : "OK";
    }

    private void Finish(RawStream s, string status, bool reset)
    {
        s.Done = true;
        _streams.Remove(s.Id);
        if (reset && !_dead)
        {
            Span<byte> code = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(code, CancelCode);
            WriteFrame(RstStream, 0, s.Id, code);
        }

        if (_plan.Kind != RawCallKind.Bidi)
        {
            _stats.Messages += s.Messages;
            if (s.Start > 0)
            {
                _stats.LatenciesMs.Add((_now - s.Start) * MsPerTick);
            }
        }

        _stats.Finish(status);
        _idleSlots++;
    }

    private void FailAll(string status)
    {
        foreach (RawStream s in _streams.Values.ToArray())
        {
            Finish(s, status, reset: false);
        }

        _closed ??= status;
        _idleSlots = 0;
    }

    private void ExpireCalls()
    {
        List<RawStream>? late = null;
        foreach (RawStream s in _streams.Values)
        {
            if (s.Deadline <= _now)
            {
                (late ??= []).Add(s);
            }
        }

        foreach (RawStream s in late ?? [])
        {
            Finish(s, "client:deadline", reset: true);
        }
    }
}
