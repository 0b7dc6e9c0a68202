using Hyperion.Internal.Timeouts;

namespace Hyperion.Http2.Internal;

/// <summary>
/// Keepalive both ways. Ours: after <see cref="Http2Options.KeepAlivePingDelay"/> with nothing received we send a
/// PING, and a peer from which nothing comes back within <see cref="Http2Options.KeepAlivePingTimeout"/> is gone.
/// Theirs: grpc's ping policy (grpc doc/keepalive.md): a client PING too soon after its last one while no DATA or
/// HEADERS moved is a strike, and past <see cref="Http2Options.MaxPingStrikes"/> the connection ends with GOAWAY
/// ENHANCE_YOUR_CALM "too_many_pings". Bursts are the per-second control-frame budget's business
/// (<see cref="CountControlFrame"/>); this policy only judges the spacing of pings nobody needs.
/// All deadlines are slots of the connection's <see cref="TimeoutControl"/>, on the server's clock.
/// </summary>
internal sealed partial class Http2Connection
{
    /// <summary>The GOAWAY debug data grpc clients look for to back off their keepalive (grpc PR 9902).</summary>
    internal const string TooManyPingsDebugData = "too_many_pings";

    private static readonly byte[] KeepAlivePingPayload = "h2-alive"u8.ToArray();

    private volatile bool _keepAliveTimedOut;

    // Read batches so far, and how many there had been when our keepalive PING left: any since means the peer is alive.
    private int _readBatches;
    private int _readBatchesAtPing;

    // Read loop only: ACKs of our keepalive PINGs so far (they do not make an idle connection busy).
    private int _keepAliveAcks;

    // 1 once DATA or HEADERS went either way since the client's last PING (written by streams, taken by the read loop).
    private int _streamActivity;

    // Read loop only: when the client's last PING came (TimeoutControl.Now ms) and the strikes since activity.
    private long _lastClientPingAt = long.MinValue;
    private int _pingStrikes;

    private bool KeepAliveEnabled => _options.KeepAlivePingDelay != Timeout.InfiniteTimeSpan;

    /// <summary>Read loop: bytes arrived, so the peer is alive; the next keepalive PING waits a whole delay again.</summary>
    private void RearmKeepAlivePing()
    {
        if (KeepAliveEnabled)
        {
            Interlocked.Increment(ref _readBatches);
            _keepAliveTimedOut = false;
            var timeouts = _context.Timeouts;
            timeouts.SetTimeout(TimeoutReason.KeepAlivePing, _options.KeepAlivePingDelay);
            timeouts.CancelTimeout(TimeoutReason.KeepAlivePingAck);
        }
    }

    /// <summary>The connection's scheduler: nothing arrived for the delay. One PING at a time: the slot re-arms only on receipt.</summary>
    private void SendKeepAlivePing()
    {
        if (_closing)
        {
            return;
        }

        Volatile.Write(ref _readBatchesAtPing, Volatile.Read(ref _readBatches));
        if (_options.KeepAlivePingTimeout != Timeout.InfiniteTimeSpan)
        {
            _context.Timeouts.SetTimeout(TimeoutReason.KeepAlivePingAck, _options.KeepAlivePingTimeout);
        }

        QueuePing(KeepAlivePingPayload, ack: false);
        _ = FlushQuietlyAsync();
    }

    /// <summary>The connection's scheduler: our PING went unanswered; the read loop raises the error, so GOAWAY and close take the usual path.</summary>
    private void OnKeepAliveTimeout()
    {
        // Bytes that arrived while this expiry was queued count: the peer answered after all.
        if (_closing || Volatile.Read(ref _readBatches) != Volatile.Read(ref _readBatchesAtPing))
        {
            return;
        }

        _keepAliveTimedOut = true;
        _input.CancelPendingRead();
    }

    private void ThrowIfKeepAliveTimedOut()
    {
        if (_keepAliveTimedOut)
        {
            // No code says "you stopped answering"; NO_ERROR would read as a graceful close (Kestrel uses INTERNAL_ERROR too).
            throw new Http2ConnectionException(Http2ErrorCode.InternalError, "Nothing arrived within KeepAlivePingTimeout of our keepalive PING.");
        }
    }

    private static bool IsKeepAlivePayload(ReadOnlySpan<byte> data) => data.SequenceEqual(KeepAlivePingPayload);

    /// <summary>DATA or HEADERS sent or received: pings around them are RTT probes or keepalive of real work, never strikes.</summary>
    internal void NoteStreamActivity()
    {
        if (Volatile.Read(ref _streamActivity) == 0)
        {
            Volatile.Write(ref _streamActivity, 1);
        }
    }

    /// <summary>Read loop, for each client PING (not ACK): grpc's strike rule.</summary>
    private void CheckPingStrike()
    {
        long interval = (long)_options.MinPingIntervalWithoutData.TotalMilliseconds;
        if (interval <= 0)
        {
            return;
        }

        long now = _context.Timeouts.Now;
        long last = _lastClientPingAt;
        _lastClientPingAt = now;
        if (Interlocked.Exchange(ref _streamActivity, 0) != 0)
        {
            _pingStrikes = 0;
            return;
        }

        if (last != long.MinValue && now - last < interval && ++_pingStrikes > _options.MaxPingStrikes)
        {
            throw new Http2ConnectionException(
                Http2ErrorCode.EnhanceYourCalm,
                $"More than {_options.MaxPingStrikes} PINGs less than {_options.MinPingIntervalWithoutData} apart with no DATA or HEADERS between.",
                TooManyPingsDebugData);
        }
    }
}
