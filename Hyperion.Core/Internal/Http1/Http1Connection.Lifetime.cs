using Hyperion.Internal.Http;

namespace Hyperion.Internal.Http1;

/// <summary>
/// <see cref="RackEnv.RequestAborted"/> on HTTP/1.1: the connection's aborted token, plus, once the app asks for it and
/// the request body has been read, a read of the input that notices the client closing or resetting the connection
/// while the handler still runs (nothing else reads the input then). Never asked: no read, no allocation.
/// </summary>
internal sealed partial class Http1Connection
{
    private const int WatchIdle = 0;
    private const int WatchAllowed = 1;
    private const int Watching = 2;

    private readonly object _watchLock = new();
    private int _watchState;
    private Task? _watchTask;
    private CancellationTokenSource? _watchStop;
    private bool _watchWanted;

    CancellationToken IRequestLifetime.RequestAborted
    {
        get
        {
            var token = AbortedToken;
            if (Volatile.Read(ref _watchState) == WatchAllowed)
            {
                // Asked before the body is read to its end: the watch starts when it is (see OnBodyRead).
                _watchWanted = true;
                StartDisconnectWatch();
            }

            return token;
        }
    }

    /// <summary>A request starts: RequestAborted may start a watch until the request loop needs the input back.</summary>
    private void AllowDisconnectWatch()
    {
        _watchWanted = false;
        _watchState = WatchAllowed;
    }

    /// <summary>After each body read: once the body is complete the input is free for a watch the app asked for.</summary>
    private void OnBodyRead()
    {
        if (_bodyDone && _watchWanted)
        {
            StartDisconnectWatch();
        }
    }

    private void StartDisconnectWatch()
    {
        lock (_watchLock)
        {
            // While the body is still being read the app's own reads see the client go (they fail).
            if (!_bodyDone || IsAborted || Interlocked.CompareExchange(ref _watchState, Watching, WatchAllowed) != WatchAllowed)
            {
                return;
            }

            _watchStop = new CancellationTokenSource();
            _watchTask = WatchForDisconnectAsync(_watchStop.Token);
        }
    }

    private async Task WatchForDisconnectAsync(CancellationToken stop)
    {
        try
        {
            var result = await _input.ReadAsync(stop).ConfigureAwait(false);
            var buffer = result.Buffer;

            // Nothing is consumed or examined: a pipelined next request stays there for the request loop, which would
            // otherwise wait for bytes beyond it. With one buffered the watch ends (a disconnect then shows at the write).
            _input.AdvanceTo(buffer.Start);
            if (result.IsCompleted && buffer.IsEmpty)
            {
                // RFC 9112 §9.6: the client closed the connection while the handler ran.
                Volatile.Read(ref _aborted)?.Cancel();
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException or OperationCanceledException)
        {
            // A reset: the transport failed the pipe.
            try
            {
                Volatile.Read(ref _aborted)?.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    /// <summary>The request loop reads the input again: end the watch first (a pipe has one reader).</summary>
    private ValueTask StopDisconnectWatchAsync()
    {
        // The usual case, RequestAborted never asked for: one compare-exchange, no lock.
        int state = Interlocked.CompareExchange(ref _watchState, WatchIdle, WatchAllowed);
        return state == Watching ? StopSlowAsync() : default;

        async ValueTask StopSlowAsync()
        {
            Task task;
            CancellationTokenSource stop;
            lock (_watchLock)
            {
                // The starter published the task before it let go of the lock.
                _watchState = WatchIdle;
                task = _watchTask!;
                stop = _watchStop!;
                _watchTask = null;
                _watchStop = null;
            }

            stop.Cancel();
            await task.ConfigureAwait(false);
            stop.Dispose();
        }
    }
}
