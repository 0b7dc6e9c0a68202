using System.Buffers;
using System.IO.Pipelines;
using Hyperion.Internal.Dispatch;
using Hyperion.Internal.Http;
using Hyperion.Internal.Routing;
using Hyperion.Internal.Timeouts;
using Hyperion.Internal.Transport;
using Microsoft.Extensions.Logging;

namespace Hyperion.Internal.Http1;

/// <summary>Where a connection is in its request cycle; the heartbeat reads it to apply timeouts.</summary>
internal enum ConnectionPhase
{
    Idle = 0,
    ReadingHead = 1,
    Processing = 2,
    ReadingBody = 3,
    Closed = 4,
}

/// <summary>
/// One HTTP/1.1 connection over a duplex pipe: parse every complete request in the read buffer,
/// answer each in order (inline when the route completes synchronously), flush once per read batch.
/// The same code serves sockets and the in-process client.
/// </summary>
internal sealed partial class Http1Connection : IRequestBodyReader, IProtocolConnection, ITimeoutHandler, IRequestLifetime
{
    private readonly HyperionServer _server;
    private readonly HyperionOptions _options;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly ConnectionContext _context;
    private readonly HttpConnection _httpConnection;
    // Made on first use (issue #3: an idle keep-alive connection should not hold one); _abortRequested
    // covers an abort that comes before anyone asked for the token.
    private CancellationTokenSource? _aborted;
    private int _abortRequested;

    private RequestHead _head;
    private bool _keepAlive;
    private bool _unflushed;
    private bool _isHeadRequest;
    private bool _responseStarted;
    private int _responseStatus;

    private int _phase;
    private volatile int _timedOut;

    public Http1Connection(HyperionServer server, PipeReader input, PipeWriter output, ConnectionContext context)
    {
        _server = server;
        _options = server.Options;
        _input = input;
        _output = output;
        _context = context;
        _httpConnection = context.Connection ?? throw new ArgumentException("HttpConnection creates HTTP/1.1 sessions.", nameof(context));
        _sniffPreface = _httpConnection.SniffsPreface;
        _head.Reset();
    }

    public ConnectionContext Context => _context;

    /// <summary>True when the connection ended because the client closed it (no lingering close needed).</summary>
    public bool EndedByPeer { get; private set; }

    public ConnectionPhase Phase => (ConnectionPhase)Volatile.Read(ref _phase);

    /// <summary>Serves HTTP/1.1 until the connection ends or is handed to HTTP/2 (which <see cref="HttpConnection.SwitchToAsync"/> activates).</summary>
    public async Task RunAsync()
    {
        RackEnv? env = null;
        bool needMoreData = false;
        _context.Timeouts.Handler = this;
        try
        {
            while (true)
            {
                ReadResult result;
                if (needMoreData || !_input.TryRead(out result))
                {
                    if (_unflushed)
                    {
                        _unflushed = false;
                        var flush = await FlushOutputAsync().ConfigureAwait(false);
                        if (flush.IsCompleted)
                        {
                            break;
                        }
                    }

                    if (env is null)
                    {
                        // Stop closes idle keep-alive connections: set the phase first, then look at the flag,
                        // so StopAsync either sees us idle or we see it stopping.
                        SetPhase(ConnectionPhase.Idle);
                        if (_server.IsStopping)
                        {
                            break;
                        }
                    }

                    result = await _input.ReadAsync().ConfigureAwait(false);
                }

                needMoreData = false;
                var buffer = result.Buffer;
                if (result.IsCanceled)
                {
                    _input.AdvanceTo(buffer.Start);
                    if (_timedOut == (int)RejectionReason.RequestHeadersTimeout && env is not null)
                    {
                        await RejectAsync(env, RejectionReason.RequestHeadersTimeout).ConfigureAwait(false);
                    }
                    else if (_timedOut != 0)
                    {
                        _server.Log.KeepAliveTimeout(_context.RemoteText);
                    }

                    break;
                }

                if (buffer.IsEmpty)
                {
                    _input.AdvanceTo(buffer.End);
                    if (result.IsCompleted)
                    {
                        EndedByPeer = env is null;
                        break;
                    }

                    continue;
                }

                if (_sniffPreface)
                {
                    var choice = HttpConnection.ChooseByPreface(buffer, result.IsCompleted);
                    if (choice == HttpConnection.PrefaceChoice.NeedMoreData)
                    {
                        _input.AdvanceTo(buffer.Start, buffer.End);
                        needMoreData = true;
                        continue;
                    }

                    _sniffPreface = false;
                    if (choice == HttpConnection.PrefaceChoice.Http2)
                    {
                        // RFC 9113 §3.3: prior knowledge. HTTP/2 reads the preface itself from the same pipe.
                        _input.AdvanceTo(buffer.Start);
                        _switchTo = _httpConnection.CreateHttp2(_input, _output);
                        break;
                    }
                }

                if (env is null)
                {
                    env = _server.RentEnv();
                    SetPhase(ConnectionPhase.ReadingHead);
                }

                var status = ParseHead(buffer, env, out int consumed, out var reason);
                if (status == ParseStatus.Incomplete)
                {
                    _input.AdvanceTo(buffer.Start, buffer.End);
                    if (result.IsCompleted)
                    {
                        // The client closed in the middle of a head: nobody is left to answer.
                        EndedByPeer = true;
                        break;
                    }

                    needMoreData = true;
                    continue;
                }

                if (status == ParseStatus.Error)
                {
                    _input.AdvanceTo(buffer.End);
                    await RejectAsync(env, reason).ConfigureAwait(false);
                    break;
                }

                _input.AdvanceTo(buffer.GetPosition(consumed));
                SetPhase(ConnectionPhase.Processing);
                bool keepAlive = await ProcessRequestAsync(env).ConfigureAwait(false);
                if (_switchTo is null)
                {
                    // After an h2c upgrade the env is stream 1's: HTTP/2 returns it.
                    _server.ReturnEnv(env);
                }

                env = null;
                if (!keepAlive)
                {
                    break;
                }

                if (_unflushed && _output.CanGetUnflushedBytes && _options.IsOverUnflushedBound(_output.UnflushedBytes))
                {
                    // Pipelined requests are answered once per read batch; past the bound, flush and parse the next
                    // request only once the transport's back-pressure says the socket drained (a client that does
                    // not read holds the bound plus one response, not the whole batch).
                    _unflushed = false;
                    var drained = await FlushOutputAsync().ConfigureAwait(false);
                    if (drained.IsCompleted)
                    {
                        break;
                    }
                }
            }
        }
        catch (Exception ex) when (IsTransportGone(ex))
        {
            // The transport went away under us (reset, abort at stop); nothing more can be sent.
            _server.Log.ConnectionError(_context.RemoteText, ex);

            // A socket error (RST, EPIPE) means the peer is gone: a lingering close would only fail again.
            EndedByPeer |= ex is IOException { InnerException: System.Net.Sockets.SocketException };
        }
        catch (Exception ex)
        {
            // Nothing a peer does explains this (a pipe misused, a disposed object while the connection lives): a bug.
            _server.Log.ConnectionFault(_context.RemoteText, ex);
        }
        finally
        {
            SetPhase(ConnectionPhase.Closed);
            if (env is not null)
            {
                _server.ReturnEnv(env);
            }

            if (_switchTo is null)
            {
                await FinishAsync().ConfigureAwait(false);
            }
        }

        if (_switchTo is { } next)
        {
            // HttpConnection makes HTTP/2 the active session; awaiting it here keeps one state machine per connection.
            await _httpConnection.SwitchToAsync(next).ConfigureAwait(false);
        }
    }

    private async ValueTask FinishAsync()
    {
        try
        {
            if (_unflushed && !IsAborted)
            {
                await FlushOutputAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // Peer already gone.
        }

        await _output.CompleteAsync().ConfigureAwait(false);
        await _input.CompleteAsync().ConfigureAwait(false);
        SignalAborted();
        Volatile.Read(ref _aborted)?.Dispose();
    }

    private bool IsAborted => Volatile.Read(ref _abortRequested) != 0;

    /// <summary>I/O errors and cancellation are the peer or an abort; a disposed or misused object only after an abort or at stop.</summary>
    private bool IsTransportGone(Exception ex)
        => ex is IOException or OperationCanceledException
            || (ex is ObjectDisposedException or InvalidOperationException && (IsAborted || _server.IsStopping));

    /// <summary>Cancelled when the connection is aborted or finished.</summary>
    private CancellationToken AbortedToken
    {
        get
        {
            var cts = Volatile.Read(ref _aborted);
            if (cts is null)
            {
                var created = new CancellationTokenSource();
                cts = Interlocked.CompareExchange(ref _aborted, created, null) ?? created;

                // Full fence above, paired with the one in SignalAborted: either it sees the source or we see the flag.
                if (Volatile.Read(ref _abortRequested) != 0)
                {
                    cts.Cancel();
                }
            }

            return cts.Token;
        }
    }

    private void SignalAborted()
    {
        Interlocked.Exchange(ref _abortRequested, 1);
        Volatile.Read(ref _aborted)?.Cancel();
    }

    private ParseStatus ParseHead(in ReadOnlySequence<byte> buffer, RackEnv env, out int consumed, out RejectionReason reason)
    {
        if (buffer.IsSingleSegment)
        {
            var span = buffer.FirstSpan;
            var status = Http1Parser.TryParse(span, _options, env, ref _head, out consumed, out reason);
            if (status == ParseStatus.Complete)
            {
                env.CopyHead(span[..consumed]);
            }

            return status;
        }

        return ParseHeadMultiSegment(buffer, env, out consumed, out reason);
    }

    private ParseStatus ParseHeadMultiSegment(in ReadOnlySequence<byte> buffer, RackEnv env, out int consumed, out RejectionReason reason)
    {
        // Heads are small; copying one that straddles segments keeps the parser single-span.
        int limit = _options.MaxRequestLineSize + _options.MaxRequestHeadersTotalSize + 16;
        int length = (int)Math.Min(buffer.Length, limit);
        byte[] scratch = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            buffer.Slice(0, length).CopyTo(scratch);
            var span = scratch.AsSpan(0, length);
            var status = Http1Parser.TryParse(span, _options, env, ref _head, out consumed, out reason);
            if (status == ParseStatus.Complete)
            {
                env.CopyHead(span[..consumed]);
            }

            return status;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private async ValueTask<bool> ProcessRequestAsync(RackEnv env)
    {
        env.RemoteEndPoint = _context.Remote;
        env.ClientCertificate = _context.ClientCertificate;
        env.LocalPort = _context.LocalPort;
        env.Scheme = _context.Scheme;
        _keepAlive = _head.Http11 ? !_head.ConnectionClose : _head.ConnectionKeepAlive;
        _isHeadRequest = ReferenceEquals(env.Method, KnownMethods.Head);
        _responseStarted = false;
        _responseStatus = 0;

        if (_head.HasUpgrade && _httpConnection.AllowsH2cUpgrade && await TryUpgradeH2cAsync(env).ConfigureAwait(false))
        {
            return false;
        }

        BeginBody(env);
        env.SetLifetime(this);
        AllowDisconnectWatch();

        var entry = RequestDispatcher.Begin(_server, env, _head.AsteriskForm, out var routes);
        RackResponse response = default;
        Exception? error = null;
        try
        {
            if (entry is not null && entry.Kind == RouteKind.Static)
            {
                var variant = entry.Static!.Select(env.Headers);
                WriteStatic(variant);
                response = _server.Hooks.HasEnd ? variant.Response : default;
            }
            else
            {
                response = await FlushThenAwait(RequestDispatcher.InvokeAsync(_server, env, entry, routes, _head.AsteriskForm)).ConfigureAwait(false);
                await WriteResponseAsync(env, response).ConfigureAwait(false);
            }

            await FinishBodyAsync().ConfigureAwait(false);
        }
        catch (BadRequestException bad)
        {
            error = bad;
            try
            {
                await OnBadBodyAsync(env, bad).ConfigureAwait(false);
            }
            finally
            {
                // The 400 may fail on a transport that is gone; the end hooks run all the same.
                _watchState = WatchIdle;
                RequestDispatcher.End(_server, env, response, error);
            }

            return false;
        }
        catch (Exception ex)
        {
            // Also after an abort: the app's exception is reported and the end hooks below still run.
            error = ex;
            OnAppError(env, ex);
        }

        await StopDisconnectWatchAsync().ConfigureAwait(false);
        RequestDispatcher.End(_server, env, response, error);

        if (_server.IsStopping)
        {
            _keepAlive = false;
        }

        return _keepAlive;
    }

    /// <summary>While an app is still working, earlier pipelined responses should not wait in our buffer.</summary>
    private ValueTask<RackResponse> FlushThenAwait(ValueTask<RackResponse> pending)
    {
        if (pending.IsCompleted || !_unflushed)
        {
            return pending;
        }

        return Slow(pending);

        async ValueTask<RackResponse> Slow(ValueTask<RackResponse> task)
        {
            _unflushed = false;
            await FlushOutputAsync().ConfigureAwait(false);
            return await task.ConfigureAwait(false);
        }
    }

    private async ValueTask OnBadBodyAsync(RackEnv env, BadRequestException bad)
    {
        _keepAlive = false;
        if (!_responseStarted)
        {
            await RejectAsync(env, bad.Reason).ConfigureAwait(false);
        }
        else
        {
            _server.Log.Rejected(_context.RemoteText, env.Method, bad.Reason, bad.StatusCode);
            Abort();
        }
    }

    private void OnAppError(RackEnv env, Exception ex)
    {
        // The connection can serve the next request only when this one's body was read to its end.
        bool keepAlive = _keepAlive && _bodyDone;
        _keepAlive = false;

        // A handler cancelled by RequestAborted after the client closed: nobody is left to answer either.
        bool clientGone = ex is OperationCanceledException && Volatile.Read(ref _aborted) is { IsCancellationRequested: true };
        if (IsAborted || clientGone)
        {
            // Nobody is left to answer; an I/O error here is the abort itself, anything else is the app's.
            if (ex is IOException or OperationCanceledException)
            {
                _server.Log.ConnectionError(_context.RemoteText, ex);
            }
            else
            {
                _server.Log.AppError(env.Method, env.Path, ex);
            }
        }
        else if (!_responseStarted)
        {
            if (ErrorResponses.IsAppFault(ex))
            {
                _server.Log.AppError(env.Method, env.Path, ex);
            }

            _keepAlive = keepAlive;

            // A text body is written synchronously into the output (no await can be pending).
            WriteResponseAsync(env, ErrorResponses.For(ex)).GetAwaiter().GetResult();
        }
        else
        {
            // Part of the response is on the wire: the only honest signal left is to cut the connection.
            if (ex is IOException)
            {
                _server.Log.ConnectionError(_context.RemoteText, ex);
            }
            else
            {
                _server.Log.AppError(env.Method, env.Path, ex);
            }

            Abort();
        }
    }

    private async ValueTask RejectAsync(RackEnv env, RejectionReason reason)
    {
        int status = reason.StatusCode();
        _server.Log.Rejected(_context.RemoteText, env.Method, reason, status);
        _keepAlive = false;
        WriteSimple(status);
        _unflushed = false;
        await FlushOutputAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Every flush of this connection: its bytes extend the response-rate allowance, and while it waits on the
    /// client the rate is checked (<see cref="HyperionOptions.MinResponseDataRate"/>).
    /// </summary>
    private ValueTask<FlushResult> FlushOutputAsync(CancellationToken cancellationToken = default)
    {
        var timeouts = _context.Timeouts;
        timeouts.BytesWritten(_output.CanGetUnflushedBytes ? _output.UnflushedBytes : 0);
        var flush = _output.FlushAsync(cancellationToken);
        return flush.IsCompleted ? flush : AwaitFlush(flush, timeouts);

        static async ValueTask<FlushResult> AwaitFlush(ValueTask<FlushResult> pending, TimeoutControl timeouts)
        {
            timeouts.StartTimingWrite();
            try
            {
                return await pending.ConfigureAwait(false);
            }
            finally
            {
                timeouts.StopTimingWrite();
            }
        }
    }

    public void Abort()
    {
        _keepAlive = false;
        try
        {
            SignalAborted();
        }
        catch (ObjectDisposedException)
        {
        }

        _context.Abort?.Invoke();
        _input.CancelPendingRead();

        // The transport is gone even if an app task is still running: the connection no longer counts.
        _server.Untrack(_httpConnection);
    }

    // ---- timeouts (the connection's TimeoutControl) and stop ----

    private void SetPhase(ConnectionPhase phase)
    {
        var timeouts = _context.Timeouts;
        switch (phase)
        {
            case ConnectionPhase.Idle:
                timeouts.CancelTimeout(TimeoutReason.RequestHeaders);
                timeouts.SetTimeout(TimeoutReason.KeepAlive, _options.KeepAliveTimeout);
                break;
            case ConnectionPhase.ReadingHead:
                timeouts.CancelTimeout(TimeoutReason.KeepAlive);
                timeouts.SetTimeout(TimeoutReason.RequestHeaders, _options.RequestHeadersTimeout);
                break;
            default:
                timeouts.CancelTimeout(TimeoutReason.KeepAlive);
                timeouts.CancelTimeout(TimeoutReason.RequestHeaders);
                break;
        }

        Interlocked.Exchange(ref _phase, (int)phase);
    }

    /// <summary>Heartbeat thread: only marks; <see cref="OnTimeout"/> acts on the connection's scheduler.</summary>
    public void OnHeartbeat(long now)
    {
        _context.Timeouts.Tick(now);
    }

    /// <summary>The connection's scheduler: a deadline passed. Re-checked against the phase, which may have moved on since.</summary>
    public void OnTimeout(TimeoutReason reason)
    {
        switch (reason)
        {
            case TimeoutReason.KeepAlive when Phase == ConnectionPhase.Idle:
                TimeOut(RejectionReason.None);
                break;
            case TimeoutReason.RequestHeaders when Phase == ConnectionPhase.ReadingHead:
                TimeOut(RejectionReason.RequestHeadersTimeout);
                break;
            case TimeoutReason.ReadDataRate when !_bodyDone:
                TimeOut(RejectionReason.MinBodyDataRate);
                break;
            case TimeoutReason.WriteDataRate:
                // The client does not take the response: nothing can be sent, so no answer, just the close.
                _server.Log.MinResponseDataRate(_context.RemoteText, _options.MinResponseDataRate ?? 0);
                Abort();
                break;
        }
    }

    private void TimeOut(RejectionReason reason)
    {
        _timedOut = reason == RejectionReason.None ? -1 : (int)reason;
        _input.CancelPendingRead();
    }

    /// <summary>Called once when the server starts stopping: an idle connection closes now.</summary>
    public void OnStopping()
    {
        if (Phase == ConnectionPhase.Idle)
        {
            _input.CancelPendingRead();
        }
    }
}
