using System.Buffers;
using System.IO.Pipelines;
using Hyperion.Internal.Dispatch;
using Hyperion.Internal.Http1;
using Hyperion.Internal.Infrastructure;
using Hyperion.Internal.Http;
using Hyperion.Internal.Routing;
using Hyperion.Internal.Timeouts;

namespace Hyperion.Http2.Internal;

/// <summary>
/// One request/response exchange on a stream (RFC 9113 §5.1, §8.1). The read loop feeds it DATA; it runs
/// the shared dispatch core and writes its response as HEADERS, DATA and trailing HEADERS frames.
/// </summary>
internal sealed partial class Http2Stream : IRequestBodyReader, IRequestLifetime
{
    private readonly Http2Connection _connection;
    private readonly int _initialReceiveWindow;
    private readonly long _declaredLength;
    private readonly bool _asterisk;
    private readonly CancellationTokenSource _aborted = new();
    private bool _limitFixed;
    private Pipe? _body;
    private long _received;
    private DataRateClock _bodyRate; // under _bodyLock
    private bool _bodyRateStarted;
    private long _buffered;
    private long _consumedSinceUpdate;
    private bool _discarding;
    private int _closed;
    private Exception? _abortReason;
    private TaskCompletionSource? _windowWaiter;
    private readonly Lock _bodyLock = new();
    private bool _bodyWriterDone;

    public Http2Stream(Http2Connection connection, int id, RackEnv env, int receiveWindow, int sendWindow, bool requestEnded, long declaredLength, bool asterisk)
    {
        _connection = connection;
        Id = id;
        Env = env;
        _initialReceiveWindow = receiveWindow;
        State = new Http2StreamState(id, sendWindow, receiveWindow, requestEnded ? Http2StreamFlags.EndStreamReceived : Http2StreamFlags.None);
        _declaredLength = declaredLength;
        _asterisk = asterisk;
        if (!requestEnded)
        {
            // The receive window bounds what can pile up here, so the pipe itself never pauses the read loop.
            _body = new Pipe(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0, useSynchronizationContext: false));
        }
    }

    public int Id { get; }

    public RackEnv Env { get; }

    /// <summary>RST_STREAM from the client, or the connection ending, cancels <see cref="RackEnv.RequestAborted"/>.</summary>
    CancellationToken IRequestLifetime.RequestAborted => _aborted.Token;

    /// <summary>Who ended or reset the stream and its windows; outlives this object in the connection's memory of closed streams.</summary>
    public Http2StreamState State { get; }

    /// <summary>END_STREAM received: half-closed (remote).</summary>
    public bool RequestEnded => State.Has(Http2StreamFlags.EndStreamReceived);

    /// <summary>Our send window; guarded by the connection's flow lock.</summary>
    public long SendWindow
    {
        get => State.SendWindow;
        set => State.SendWindow = value;
    }

    /// <summary>Bytes of DATA sent whose window the client has not yet given back by WINDOW_UPDATE; guarded by the flow lock (a field, so it can be passed by ref).</summary>
    public long WindowUpdateCredit;

    /// <summary>When the response started waiting for window; null when it is not waiting.</summary>
    public long? WindowWaitStartedAt { get; private set; }

    /// <summary>
    /// The code of the RST_STREAM sent when the response ends before the request (RFC 9113 §8.1): NO_ERROR, or CANCEL
    /// after a gRPC deadline (PROTOCOL-HTTP2.md) so the client stops sending.
    /// </summary>
    internal Http2ErrorCode StopSendingCode { get; set; } = Http2ErrorCode.NoError;

    /// <summary>We sent RST_STREAM on this stream.</summary>
    public bool IsReset => State.Has(Http2StreamFlags.ResetSent);

    /// <summary>Called by the read loop with a DATA payload (padding removed). False: a stream error to answer with <paramref name="error"/>.</summary>
    public bool TryReceiveData(in ReadOnlySequence<byte> data, int flowLength, bool endStream, out Http2ErrorCode error)
    {
        error = Http2ErrorCode.NoError;
        if (!State.TryTakeReceiveWindow(flowLength))
        {
            // RFC 9113 §6.9.1: the client sent more than the stream window allowed.
            error = Http2ErrorCode.FlowControlError;
            return false;
        }

        Interlocked.Add(ref _received, data.Length);
        if (_declaredLength >= 0 && !IsReset && (_received > _declaredLength || (endStream && _received != _declaredLength)))
        {
            // RFC 9113 §8.1.1: DATA that does not add up to content-length makes the request malformed. Not once we have
            // reset the stream: the message is abandoned and its frames are discarded (§5.1), live stream or closed.
            error = Http2ErrorCode.ProtocolError;
            return false;
        }

        lock (_bodyLock)
        {
            if (_bodyWriterDone)
            {
                // The app side is finished or failed: nothing reads these bytes any more.
                _connection.CreditConnectionWindow(data.Length);
            }
            else if (_discarding || (Volatile.Read(ref _limitFixed) && Env.MaxRequestBodySize is long max && _received > max))
            {
                // Over the request's MaxRequestBodySize (fixed once the app reads; before that the stream window bounds
                // what can arrive): rack.input reads fail with 413; the bytes are credited back at once.
                _discarding = true;
                _bodyWriterDone = true;
                _connection.CreditConnectionWindow(data.Length);
                _body!.Writer.Complete(new BadRequestException(RejectionReason.BodyTooLarge));
            }
            else if (!data.IsEmpty)
            {
                var writer = _body!.Writer;
                foreach (var segment in data)
                {
                    writer.Write(segment.Span);
                }

                Interlocked.Add(ref _buffered, data.Length);

                // This pipe never pauses (pauseWriterThreshold 0): the flush completes at once.
                var flushed = writer.FlushAsync();
                System.Diagnostics.Debug.Assert(flushed.IsCompleted, "the request body pipe has no back-pressure");
            }

            if (endStream)
            {
                State.Set(Http2StreamFlags.EndStreamReceived);
                if (!_bodyWriterDone)
                {
                    _bodyWriterDone = true;
                    _body!.Writer.Complete();
                }
            }
        }

        return true;
    }

    /// <summary>Padding never reaches the app: credit it to the stream window at once.</summary>
    public void CreditPadding(int padding) => CreditStream(padding);

    private void CreditStream(long bytes)
    {
        if (RequestEnded || IsReset)
        {
            return;
        }

        long pending = Interlocked.Add(ref _consumedSinceUpdate, bytes);
        if (pending >= _initialReceiveWindow / 2 && Interlocked.CompareExchange(ref _consumedSinceUpdate, 0, pending) == pending)
        {
            Interlocked.Add(ref State.ReceiveWindow, pending);
            _connection.QueueWindowUpdate(Id, (int)pending);
            _connection.ScheduleFlush();
        }
    }

    /// <summary>rack.input reads: bytes as DATA arrives; each read opens the windows by what it consumed.</summary>
    public async ValueTask<int> ReadBodyAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (_body is null)
        {
            return 0;
        }

        FixBodyLimit();

        var reader = _body.Reader;
        while (true)
        {
            ReadResult result;
            try
            {
                if (!reader.TryRead(out result))
                {
                    // The body-rate clock runs only while the app waits here (HTTP/1.1 keeps the same rule).
                    StartTimingRead();
                    try
                    {
                        result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        StopTimingRead();
                    }
                }
            }
            catch (InvalidOperationException)
            {
                // Reader completed after the stream ended.
                return 0;
            }

            if (TakeBody(reader, result, destination.Span, out int n))
            {
                return n;
            }
        }
    }

    /// <summary>END_STREAM received: every DATA byte is in the body pipe.</summary>
    public bool IsBodyFullyBuffered => _body is null || RequestEnded;

    public bool TryReadBufferedBody(Span<byte> destination, out int read)
    {
        read = 0;
        if (_body is null)
        {
            return true;
        }

        FixBodyLimit();

        try
        {
            return _body.Reader.TryRead(out var result) && TakeBody(_body.Reader, result, destination, out read);
        }
        catch (InvalidOperationException)
        {
            // Reader completed after the stream ended.
            return true;
        }
    }

    /// <summary>
    /// The app's first read fixes the request's body limit (rack.input has checked the declared length): what arrived
    /// before, while a middleware could still raise the limit, is held to it now; later DATA in <see cref="TryReceiveData"/>.
    /// </summary>
    private void FixBodyLimit()
    {
        if (_limitFixed)
        {
            return;
        }

        lock (_bodyLock)
        {
            Volatile.Write(ref _limitFixed, true);
            if (!_bodyWriterDone && Env.MaxRequestBodySize is long max && Interlocked.Read(ref _received) > max)
            {
                _discarding = true;
                _bodyWriterDone = true;
                _body!.Writer.Complete(new BadRequestException(RejectionReason.BodyTooLarge));
            }
        }
    }

    /// <summary>Copies what one read returned; false when it held nothing and the body goes on.</summary>
    private bool TakeBody(PipeReader reader, in ReadResult result, Span<byte> destination, out int read)
    {
        var buffer = result.Buffer;
        if (!buffer.IsEmpty)
        {
            int n = (int)Math.Min(buffer.Length, destination.Length);
            buffer.Slice(0, n).CopyTo(destination);
            reader.AdvanceTo(buffer.GetPosition(n));
            Interlocked.Add(ref _buffered, -n);
            _connection.CreditConnectionWindow(n);
            CreditStream(n);
            read = n;
            return true;
        }

        reader.AdvanceTo(buffer.End);
        read = 0;
        return result.IsCompleted;
    }

    /// <summary>
    /// The heartbeat's check of <see cref="HyperionOptions.MinRequestBodyDataRate"/> (timed only while the app waits in a
    /// body read): a client trickling bytes gets 408 on this stream (see <see cref="FailSlowBody"/>), as on HTTP/1.1, and
    /// the connection lives on. Only reads; the heartbeat never acts on a stream itself.
    /// </summary>
    public bool IsBodyTooSlow(long now)
    {
        lock (_bodyLock)
        {
            return !RequestEnded && !_bodyWriterDone && _bodyRate.IsTooSlow(now, Interlocked.Read(ref _received));
        }
    }

    /// <summary>The connection's scheduler, after <see cref="IsBodyTooSlow"/>: the app's body read fails with 408.</summary>
    public void FailSlowBody()
    {
        lock (_bodyLock)
        {
            _bodyRate.Stop();
        }

        CompleteBodyWriter(new BadRequestException(RejectionReason.MinBodyDataRate));
    }

    /// <summary>
    /// gRPC streams wait on the client by design (a bidirectional call idle between messages), so they are exempt from
    /// <see cref="HyperionOptions.MinRequestBodyDataRate"/>, as grpc-dotnet exempts them on Kestrel.
    /// </summary>
    internal void ExemptFromBodyDataRate()
    {
        lock (_bodyLock)
        {
            _bodyRateStarted = true;
            _bodyRate.Stop();
        }
    }

    private void StartTimingRead()
    {
        var options = _connection.Server.Options;
        long now = _connection.Context.Timeouts.Now;
        lock (_bodyLock)
        {
            if (!_bodyRateStarted)
            {
                _bodyRateStarted = true;
                _bodyRate.Start(options.MinRequestBodyDataRate, options.MinRequestBodyDataRateGracePeriod);
            }

            _bodyRate.StartTiming(now);
        }
    }

    private void StopTimingRead()
    {
        long now = _connection.Context.Timeouts.Now;
        lock (_bodyLock)
        {
            _bodyRate.StopTiming(now);
        }
    }

    /// <summary>Request bytes received but never read; the connection gets them back when the stream closes.</summary>
    public long TakeUnreadCredit() => Interlocked.Exchange(ref _buffered, 0);

    /// <summary>The client reset the stream or the connection is going: fail the app's reads and writes.</summary>
    public void Abort(Exception reason)
    {
        _abortReason ??= reason;
        try
        {
            _aborted.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        CompleteBodyWriter(reason);
        TaskCompletionSource? waiter;
        lock (this)
        {
            waiter = _windowWaiter;
            _windowWaiter = null;
        }

        waiter?.TrySetException(reason);
    }

    /// <summary>Removes the stream from the connection (idempotent); the app may still be finishing. <paramref name="stopSending"/>: send RST_STREAM NO_ERROR.</summary>
    public void Close(bool stopSending = false)
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            _connection.OnStreamClosed(this, stopSending);
        }
    }

    private void CompleteBodyWriter(Exception? reason)
    {
        lock (_bodyLock)
        {
            if (_body is not null && !_bodyWriterDone)
            {
                _bodyWriterDone = true;
                _body.Writer.Complete(reason);
            }
        }
    }

    public Task CreateWindowWaiter()
    {
        lock (this)
        {
            if (_abortReason is not null)
            {
                return Task.FromException(_abortReason);
            }

            WindowWaitStartedAt ??= _connection.Context.Timeouts.Now;
            return (_windowWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }

    public void WakeWindowWaiter()
    {
        TaskCompletionSource? waiter;
        lock (this)
        {
            waiter = _windowWaiter;
            _windowWaiter = null;
            WindowWaitStartedAt = null;
        }

        waiter?.TrySetResult();
    }

    /// <summary>
    /// Runs the exchange from the read loop. Where the route runs is RequestDispatcher's decision, as for HTTP/1.1:
    /// inline (answered in the same batch), or on the thread pool for its dispatch mode or for a body that has not
    /// all arrived (its handler may block reading rack.input, which only this read loop can feed).
    /// </summary>
    public void Start() => BackgroundTasks.Observe(RunAsync(), _connection.Server.Log, "HTTP/2 stream");

    public void StartRejected(RejectionReason reason) => BackgroundTasks.Observe(RunRejectedAsync(reason), _connection.Server.Log, "HTTP/2 stream");

    private async Task RunAsync()
    {
        var server = _connection.Server;
        var env = Env;
        RackResponse response = default;
        Exception? error = null;
        try
        {
            if (_body is not null)
            {
                env.BodyStream.Attach(this);
            }

            env.SetLifetime(this);

            _isHead = ReferenceEquals(env.Method, KnownMethods.Head);
            var entry = RequestDispatcher.Begin(server, env, _asterisk, out var routes);
            if (entry is not null && entry.Kind == RouteKind.Static)
            {
                var variant = entry.Static!.Select(env.Headers);
                response = variant.Response;
                await WriteStaticAsync(variant).ConfigureAwait(false);
            }
            else
            {
                response = await RequestDispatcher.InvokeAsync(server, env, entry, routes, _asterisk).ConfigureAwait(false);
                await WriteResponseAsync(response).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            error = ex;
            try
            {
                await OnErrorAsync(ex).ConfigureAwait(false);
            }
            catch (Exception inner)
            {
                // Resetting the stream failed too: the hooks and the cleanup below must still run.
                server.Log.ConnectionFault(_connection.Context.RemoteText, inner);
            }
        }

        RequestDispatcher.End(server, env, response, error);
        Finish();
    }

    private async Task RunRejectedAsync(RejectionReason reason)
    {
        try
        {
            int status = reason.StatusCode();
            _connection.Server.Log.Rejected(_connection.Context.RemoteText, Env.Method ?? "-", reason, status);
            await WriteSimpleAsync(status).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or OperationCanceledException)
        {
        }

        Finish();
    }

    private async ValueTask OnErrorAsync(Exception ex)
    {
        var server = _connection.Server;
        if (_abortReason is not null)
        {
            // The client reset the stream or the connection went away: nobody is left to answer.
            return;
        }

        try
        {
            if (ex is BadRequestException bad)
            {
                server.Log.Rejected(_connection.Context.RemoteText, Env.Method, bad.Reason, bad.StatusCode);
                if (!_headersSent)
                {
                    await WriteSimpleAsync(bad.StatusCode).ConfigureAwait(false);
                    return;
                }
            }
            else
            {
                if (ErrorResponses.IsAppFault(ex))
                {
                    server.Log.AppError(Env.Method, Env.Path, ex);
                }

                if (!_headersSent)
                {
                    await WriteResponseAsync(ErrorResponses.For(ex)).ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (Exception inner) when (inner is IOException or InvalidOperationException or OperationCanceledException)
        {
            return;
        }

        // Part of the response is out: the honest signal left is to reset the stream (RFC 9113 §8.1).
        _connection.ResetStream(this, Http2ErrorCode.InternalError);
    }

    private void Finish()
    {
        // RFC 9113 §8.1: a complete response may end the exchange while the client still sends; tell it to stop.
        Close(stopSending: !State.EndedByPeer && _closed == 0 && State.Set(Http2StreamFlags.ResetSent));

        CompleteBodyWriter(null);
        _body?.Reader.Complete();
        _aborted.Dispose();
        _connection.Server.ReturnEnv(Env);
    }
}
