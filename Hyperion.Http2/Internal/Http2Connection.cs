using System.Buffers;
using System.IO.Pipelines;
using Hyperion.Http2.Hpack;
using Hyperion.Internal.Http1;
using Hyperion.Internal.Timeouts;
using Hyperion.Internal.Transport;

namespace Hyperion.Http2.Internal;

/// <summary>
/// One HTTP/2 connection (RFC 9113) over a duplex pipe. A single read loop parses frames and drives the
/// stream state machine; streams run the shared dispatch core, inline while they complete synchronously,
/// and every frame goes out through one write gate. Control answers are flushed once per read batch.
/// </summary>
internal sealed partial class Http2Connection : IProtocolConnection, IH2cUpgrade, ITimeoutHandler
{
    private static readonly byte[] ClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    private readonly HyperionServer _server;
    private readonly Http2Options _options;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly ConnectionContext _context;
    private readonly HpackDecoder _decoder;
    private readonly Http2RequestHeaderSink _sink = new();
    private readonly Dictionary<int, Http2Stream> _streams = [];
    private readonly Lock _streamsLock = new();
    private readonly Http2ClosedStreams _closed;

    // Header block assembly (HEADERS + CONTINUATION, RFC 9113 §6.10).
    private readonly ArrayBufferWriter<byte> _headerBlock = new(1024);
    private int _headerStreamId;
    private bool _headerEndStream;
    private int _continuationCount;
    private bool _headerSelfDependent;
    private bool _sawClientSettings;

    private int _highestStreamId;
    private int _peerMaxFrameSize = Http2FrameHeader.DefaultMaxFrameSize;
    private int _peerInitialWindow = 65535;
    private long _connectionReceiveWindow = 65535;
    private long _connectionUnacked;

    private int _resetCount;
    private long _resetWindowStart;
    private int _controlFrames;
    private int _unproductiveFrames;

    // RFC 9113 §6.5.3: our SETTINGS must be acknowledged in time (TimeoutReason.SettingsAck).
    private volatile bool _settingsAcked;
    private volatile bool _settingsTimedOut;

    private volatile bool _closing;
    private int _stopPhase;
    private int _goAwayLastStreamId = int.MaxValue;
    private bool _goAwayReceived;
    private volatile bool _aborted;

    private Http2Stream? _upgradeStream;

    private const int DefaultHeaderTableSize = 4096;

    public Http2Connection(HyperionServer server, PipeReader input, PipeWriter output, ConnectionContext context, Http2Options options)
    {
        _server = server;
        _options = options;
        _input = input;
        _output = output;
        _context = context;
        _closed = new Http2ClosedStreams(Http2ClosedStreams.CapacityFor(options.MaxConcurrentStreams));
        // RFC 9113 §6.5.2 / RFC 7541 §4.2: until the client acknowledges our SETTINGS it encodes against the
        // default 4096-byte table, so the decoder starts there; a larger advertised size is allowed at once
        // (the client must announce it with a size update), a smaller one is enforced from the ACK on.
        // The header list is bounded by both HTTP/2's own limit and MaxRequestHeadersTotalSize, as HTTP/1.1's head is.
        HeaderListLimit = Math.Min(options.MaxHeaderListSize, server.Options.MaxRequestHeadersTotalSize);
        _decoder = new HpackDecoder(DefaultHeaderTableSize, HeaderListLimit)
        {
            MaxDynamicTableSize = Math.Max(DefaultHeaderTableSize, options.HeaderTableSize),
        };
        _encoder = new HpackEncoder();
    }

    public ConnectionContext Context => _context;

    public bool EndedByPeer { get; private set; }

    internal HyperionServer Server => _server;

    internal Http2Options Options => _options;

    internal int PeerMaxFrameSize => _peerMaxFrameSize;

    /// <summary>SETTINGS_MAX_HEADER_LIST_SIZE as advertised and enforced (RFC 9113 §6.5.2 counting).</summary>
    internal int HeaderListLimit { get; }

    /// <summary>
    /// <c>Upgrade: h2c</c> (RFC 7540 §3.2): the HTTP/1.1 request becomes stream 1, half-closed (remote), and the
    /// client's HTTP2-Settings apply as if sent in a SETTINGS frame. Call before <see cref="RunAsync"/>.
    /// </summary>
    public void PrepareUpgrade(ReadOnlySpan<byte> settingsPayload, RackEnv env)
    {
        if (settingsPayload.Length % 6 != 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, "HTTP2-Settings is not a whole number of settings.");
        }

        ApplySettings(settingsPayload);
        env.Protocol = "HTTP/2";
        _highestStreamId = 1;
        _upgradeStream = new Http2Stream(this, 1, env, _options.InitialStreamWindowSize, _peerInitialWindow, requestEnded: true, declaredLength: 0, asterisk: false);
    }

    public async Task RunAsync()
    {
        _context.Timeouts.Handler = this;
        _context.Timeouts.SetTimeout(TimeoutReason.KeepAlive, _server.Options.KeepAliveTimeout);
        try
        {
            WriteServerPreface();
            if (_upgradeStream is { } upgraded)
            {
                lock (_streamsLock)
                {
                    _streams.Add(1, upgraded);
                }

                upgraded.Start();
            }

            await FlushAsync().ConfigureAwait(false);
            if (!await ReadClientPrefaceAsync().ConfigureAwait(false))
            {
                return;
            }

            await ReadLoopAsync().ConfigureAwait(false);
        }
        catch (Http2ConnectionException ex)
        {
            // The peer broke the protocol or flooded us (RFC 9113 §5.4.1): one line with the code it gets.
            _server.Log.ProtocolError(_context.RemoteText, $"{ex.Code} (0x{(uint)ex.Code:x})", ex.Message);
            await SendGoAwayAndCloseAsync(ex.Code, ex.DebugData).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransportGone(ex))
        {
            // The transport went away under us; nothing more can be sent.
            _server.Log.ConnectionError(_context.RemoteText, ex);
        }
        catch (Exception ex)
        {
            // Nothing a peer does explains this: a bug.
            _server.Log.ConnectionFault(_context.RemoteText, ex);
        }
        finally
        {
            await FinishAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask<bool> ReadClientPrefaceAsync()
    {
        while (true)
        {
            var result = await _input.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            int n = (int)Math.Min(buffer.Length, ClientPreface.Length);
            if (!MatchesPreface(buffer, n))
            {
                // RFC 9113 §3.4: an invalid preface is a connection error of type PROTOCOL_ERROR.
                _input.AdvanceTo(buffer.End);
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "Invalid client connection preface.");
            }

            if (n == ClientPreface.Length)
            {
                _input.AdvanceTo(buffer.GetPosition(n));
                return true;
            }

            _input.AdvanceTo(buffer.Start, buffer.End);
            ThrowIfSettingsTimedOut();
            if (result.IsCompleted || result.IsCanceled)
            {
                EndedByPeer = result.IsCompleted;
                return false;
            }
        }
    }

    private static bool MatchesPreface(in ReadOnlySequence<byte> buffer, int n)
    {
        Span<byte> head = stackalloc byte[ClientPreface.Length];
        buffer.Slice(0, n).CopyTo(head);
        return head[..n].SequenceEqual(ClientPreface.AsSpan(0, n));
    }

    private async ValueTask ReadLoopAsync()
    {
        RearmKeepAlivePing();
        while (true)
        {
            var result = await _input.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                _input.AdvanceTo(buffer.Start);
                ThrowIfSettingsTimedOut();
                ThrowIfHeaderBlockTimedOut();
                ThrowIfKeepAliveTimedOut();
                if (_closing && ActiveStreams == 0)
                {
                    return;
                }

                if (_aborted)
                {
                    return;
                }

                continue;
            }

            RearmKeepAlivePing();
            _batchThread = Environment.CurrentManagedThreadId;
            bool overBound = false;
            int frames = 0;
            int keepAliveAcks = _keepAliveAcks;
            try
            {
                while (Http2FrameHeader.TryRead(buffer, out var header))
                {
                    // RFC 9113 §4.2: a frame larger than our SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR; refuse before buffering it.
                    if (header.Length > _options.MaxFrameSize)
                    {
                        throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, $"Frame of {header.Length} octets exceeds SETTINGS_MAX_FRAME_SIZE.");
                    }

                    if (buffer.Length < Http2FrameHeader.Size + header.Length)
                    {
                        break;
                    }

                    var payload = buffer.Slice(Http2FrameHeader.Size, header.Length);
                    ProcessFrame(header, payload);
                    frames++;
                    buffer = buffer.Slice(Http2FrameHeader.Size + header.Length);
                    if (_server.Options.IsOverUnflushedBound(Volatile.Read(ref _unflushedOutput)))
                    {
                        // Responses answered inline in this batch passed the bound: stop parsing frames until the
                        // socket drains, so a client that does not read holds the bound plus one response.
                        overBound = true;
                        break;
                    }
                }
            }
            finally
            {
                // Also when a frame ended the connection: such a stream then sees the connection's abort, as one
                // started earlier in the batch does.
                StartDeferredStreams();
                RunResumes();
                _batchThread = 0;
            }

            // Anything but the ACKs of our own keepalive PINGs makes the connection busy: a client that only answers
            // them is still idle, so KeepAliveTimeout still closes it.
            if (frames > _keepAliveAcks - keepAliveAcks || !buffer.IsEmpty)
            {
                _context.Timeouts.SetTimeout(TimeoutReason.KeepAlive, _server.Options.KeepAliveTimeout);
            }

            if (overBound)
            {
                // Examined only up to what was consumed: the next read returns the rest at once.
                _input.AdvanceTo(buffer.Start);
                await FlushAsync().ConfigureAwait(false);
                continue;
            }

            _input.AdvanceTo(buffer.Start, buffer.End);
            await FlushAsync().ConfigureAwait(false);
            if (result.IsCompleted)
            {
                EndedByPeer = buffer.IsEmpty;
                return;
            }

            if (_closing && ActiveStreams == 0)
            {
                return;
            }
        }
    }

    /// <summary>Streams whose HEADERS came without END_STREAM in the read batch just parsed (read loop only).</summary>
    private readonly List<Http2Stream> _deferredStarts = [];

    private void StartDeferredStreams()
    {
        if (_deferredStarts.Count == 0)
        {
            return;
        }

        foreach (var stream in _deferredStarts)
        {
            stream.Start();
        }

        _deferredStarts.Clear();
    }

    private void ThrowIfSettingsTimedOut()
    {
        if (_settingsTimedOut)
        {
            throw new Http2ConnectionException(Http2ErrorCode.SettingsTimeout, "The client did not acknowledge our SETTINGS in time.");
        }
    }

    internal int ActiveStreams
    {
        get
        {
            lock (_streamsLock)
            {
                return _streams.Count;
            }
        }
    }

    /// <summary>
    /// Whether a new stream fits under SETTINGS_MAX_CONCURRENT_STREAMS. RFC 9113 §5.1.2 counts open and half-closed
    /// streams only: one that both sides have ended, or that either side reset, is closed even while its app is still
    /// finishing and it is in the table. Those are left out, up to twice the limit tracked in all.
    /// </summary>
    private bool HasRoomForStream()
    {
        int max = _options.MaxConcurrentStreams;
        lock (_streamsLock)
        {
            if (_streams.Count < max)
            {
                return true;
            }

            if (_streams.Count >= 2 * max)
            {
                return false;
            }

            int counted = 0;
            foreach (var stream in _streams.Values)
            {
                var state = stream.State;
                bool closed = (state.Has(Http2StreamFlags.EndStreamSent) && state.Has(Http2StreamFlags.EndStreamReceived))
                    || state.Has(Http2StreamFlags.ResetSent) || state.Has(Http2StreamFlags.ResetReceived);
                if (!closed)
                {
                    counted++;
                }
            }

            return counted < max;
        }
    }

    private async ValueTask FinishAsync()
    {
        _closing = true;
        Http2Stream[] remaining;
        lock (_streamsLock)
        {
            remaining = [.. _streams.Values];
        }

        foreach (var stream in remaining)
        {
            stream.Abort(new IOException("The HTTP/2 connection closed."));
        }

        ReleaseReusable();

        try
        {
            if (!_aborted)
            {
                await FlushAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // Peer already gone.
        }

        await _writeGate.WaitAsync().ConfigureAwait(false);
        try
        {
            await _output.CompleteAsync().ConfigureAwait(false);
            _outputCompleted = true;
        }
        finally
        {
            _writeGate.Release();
        }

        await _input.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Called by a stream when its request and response are both done (or it was reset). <paramref name="stopSending"/>:
    /// the response ended first; RST_STREAM NO_ERROR goes out only once the stream has left the live table, so a client
    /// that has seen it always meets the closed state, and before a stopping connection can finish.
    /// </summary>
    internal void OnStreamClosed(Http2Stream stream, bool stopSending)
    {
        bool last;
        lock (_streamsLock)
        {
            if (!_streams.Remove(stream.Id))
            {
                return;
            }

            // The same state object moves to the memory of closed streams: nothing the read loop records is lost.
            _closed.Add(stream.State);
            last = _streams.Count == 0;
        }

        if (stopSending)
        {
            QueueRstStream(stream.Id, stream.StopSendingCode);
            ScheduleFlush();
        }

        KeepWindowUpdateCredit(stream);

        // Request body bytes the app never read still occupied the connection window: hand them back.
        long unread = stream.TakeUnreadCredit();
        if (unread > 0)
        {
            CreditConnectionWindow(unread);
        }

        if (last && _closing)
        {
            _input.CancelPendingRead();
        }
    }

    /// <summary>Heartbeat thread: resets the per-second flood budgets and only marks what expired; <see cref="OnTimeout"/> acts.</summary>
    public void OnHeartbeat(long now)
    {
        Interlocked.Exchange(ref _controlFrames, 0);
        Interlocked.Exchange(ref _unproductiveFrames, 0);
        var timeouts = _context.Timeouts;
        timeouts.Tick(now);
        Http2Stream[] streams;
        lock (_streamsLock)
        {
            streams = _streams.Count == 0 ? [] : [.. _streams.Values];
        }

        foreach (var s in streams)
        {
            if (IsStreamExpired(s, now))
            {
                timeouts.Expire(TimeoutReason.StreamDeadline);
                break;
            }
        }
    }

    private bool IsStreamExpired(Http2Stream s, long now)
        => s.IsBodyTooSlow(now) || (s.WindowWaitStartedAt is long since && now - since > (long)_options.SendWindowStallTimeout.TotalMilliseconds);

    /// <summary>The connection's scheduler: a deadline passed (re-checked, as the connection may have moved on).</summary>
    public void OnTimeout(TimeoutReason reason)
    {
        switch (reason)
        {
            case TimeoutReason.SettingsAck when !_settingsAcked && !_settingsTimedOut:
                // RFC 9113 §6.5.3: no ACK in time may be treated as a connection error of type SETTINGS_TIMEOUT.
                // The read loop raises it, so the GOAWAY and the close take the usual error path.
                _settingsTimedOut = true;
                _input.CancelPendingRead();
                break;
            case TimeoutReason.GoAwayPing:
                SendFinalGoAway();
                break;
            case TimeoutReason.KeepAlivePing:
                SendKeepAlivePing();
                break;
            case TimeoutReason.KeepAlivePingAck:
                OnKeepAliveTimeout();
                break;
            case TimeoutReason.RequestHeaders:
                OnHeaderBlockTimeout();
                break;
            case TimeoutReason.KeepAlive when !_closing:
                if (ActiveStreams > 0)
                {
                    _context.Timeouts.SetTimeout(TimeoutReason.KeepAlive, _server.Options.KeepAliveTimeout);
                    break;
                }

                _server.Log.KeepAliveTimeout(_context.RemoteText);
                _closing = true;
                QueueGoAway(_highestStreamId, Http2ErrorCode.NoError);
                _ = FlushQuietlyAsync();
                _input.CancelPendingRead();
                break;
            case TimeoutReason.WriteDataRate:
                _server.Log.MinResponseDataRate(_context.RemoteText, _server.Options.MinResponseDataRate ?? 0);
                Abort();
                break;
            case TimeoutReason.StreamDeadline:
                ApplyStreamDeadlines();
                break;
        }
    }

    private void ApplyStreamDeadlines()
    {
        long now = _context.Timeouts.Now;
        Http2Stream[] streams;
        lock (_streamsLock)
        {
            streams = [.. _streams.Values];
        }

        foreach (var s in streams)
        {
            if (s.IsBodyTooSlow(now))
            {
                s.FailSlowBody();
            }

            if (s.WindowWaitStartedAt is long since && now - since > (long)_options.SendWindowStallTimeout.TotalMilliseconds)
            {
                // Zero-window stall (RFC 9113 §10.5): the client keeps the window shut; stop holding the response.
                ResetStream(s, Http2ErrorCode.Cancel);
                s.Abort(new IOException("The client did not open its flow-control window in time."));
            }
        }
    }

    /// <summary>
    /// Graceful stop (RFC 9113 §6.8): GOAWAY with 2^31-1 and a PING, then the real last stream id once the
    /// PING comes back (or after <see cref="Http2Options.GoAwayPingTimeout"/>); in-flight streams finish.
    /// </summary>
    public void OnStopping()
    {
        if (Interlocked.CompareExchange(ref _stopPhase, 1, 0) != 0)
        {
            return;
        }

        _context.Timeouts.SetTimeout(TimeoutReason.GoAwayPing, _options.GoAwayPingTimeout);
        QueueGoAway(int.MaxValue, Http2ErrorCode.NoError);
        QueuePing(ShutdownPingPayload, ack: false);
        _ = FlushQuietlyAsync();
    }

    private void SendFinalGoAway()
    {
        if (Interlocked.CompareExchange(ref _stopPhase, 2, 1) != 1)
        {
            return;
        }

        int last;
        lock (_streamsLock)
        {
            _closing = true;
            last = _highestStreamId;
            _goAwayLastStreamId = last;
        }

        QueueGoAway(last, Http2ErrorCode.NoError);
        _ = FlushQuietlyAsync();
        if (ActiveStreams == 0)
        {
            _input.CancelPendingRead();
        }
    }

    public void Abort()
    {
        _aborted = true;
        _closing = true;
        _context.Abort?.Invoke();
        _input.CancelPendingRead();
        Http2Stream[] streams;
        lock (_streamsLock)
        {
            streams = [.. _streams.Values];
        }

        foreach (var s in streams)
        {
            s.Abort(new IOException("The connection was aborted."));
        }

        // The server tracks the HttpConnection that selected HTTP/2.
        if (_context.Connection is { } tracked)
        {
            _server.Untrack(tracked);
        }
    }

    private async ValueTask SendGoAwayAndCloseAsync(Http2ErrorCode code, string? debugData)
    {
        _closing = true;
        int last;
        lock (_streamsLock)
        {
            last = _highestStreamId;
        }

        QueueGoAway(last, code, debugData);
        try
        {
            await FlushAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
        }
    }

    /// <summary>A flush nobody awaits: a gone transport is expected, any other fault is logged (never lost).</summary>
    private async Task FlushQuietlyAsync()
    {
        try
        {
            await FlushAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransportGone(ex))
        {
        }
        catch (Exception ex)
        {
            _server.Log.ConnectionFault(_context.RemoteText, ex);
        }
    }

    /// <summary>I/O errors and cancellation are the peer or an abort; a disposed or misused object only after an abort, a close or at stop.</summary>
    private bool IsTransportGone(Exception ex)
        => ex is IOException or OperationCanceledException
            || (ex is ObjectDisposedException or InvalidOperationException && (_aborted || _closing || _server.IsStopping));
}
