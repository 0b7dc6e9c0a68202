using System.IO.Pipelines;

namespace Hyperion.Internal.Timeouts;

/// <summary>
/// Every deadline of one connection, shared by the sessions layered on it (TLS, HTTP/1.1, HTTP/2 after an upgrade):
/// the session in charge sets itself as <see cref="Handler"/>. The heartbeat calls <see cref="Tick"/>, which only
/// compares and marks; the handler hears of an expiry on the connection's own scheduler, so neither connection nor
/// app code ever runs on the heartbeat's thread. Times are <see cref="Heartbeat.Now"/> milliseconds.
/// </summary>
internal sealed class TimeoutControl
{
    private const long Unarmed = long.MaxValue;
    private const int DeadlineSlots = (int)TimeoutReason.KeepAlivePingAck + 1;

    private readonly Heartbeat _clock;
    private readonly PipeScheduler _scheduler;
    private readonly long[] _deadlines = [Unarmed, Unarmed, Unarmed, Unarmed, Unarmed, Unarmed, Unarmed, Unarmed];
    private readonly Lock _rateLock = new();
    private ITimeoutHandler? _handler;
    private int _expired;

    // Request body rate: the clock runs only while the app waits in a body read.
    private DataRateClock _read;
    private long _bytesRead;

    // Response rate: every flush buys grace + bytes / rate; checked only while a write waits on the client.
    private readonly double _writeRate;
    private readonly long _writeGrace;
    private long _writeDeadline;
    private int _writesWaiting;

    public TimeoutControl(Heartbeat clock, PipeScheduler scheduler, HyperionOptions options)
    {
        System.Diagnostics.Debug.Assert(_deadlines.Length == DeadlineSlots);
        _clock = clock;
        _scheduler = scheduler;
        _writeRate = options.MinResponseDataRate ?? 0;
        _writeGrace = (long)options.MinResponseDataRateGracePeriod.TotalMilliseconds;
    }

    public ITimeoutHandler? Handler
    {
        get => Volatile.Read(ref _handler);
        set => Volatile.Write(ref _handler, value);
    }

    public long Now => _clock.Now;

    /// <summary>Arms (or re-arms) the deadline of <paramref name="reason"/> at <paramref name="after"/> from now.</summary>
    public void SetTimeout(TimeoutReason reason, TimeSpan after)
    {
        long ms = (long)after.TotalMilliseconds;
        Volatile.Write(ref _deadlines[Slot(reason)], ms >= Unarmed - _clock.Now ? Unarmed : _clock.Now + ms);
    }

    public void CancelTimeout(TimeoutReason reason) => Volatile.Write(ref _deadlines[Slot(reason)], Unarmed);

    public bool IsArmed(TimeoutReason reason) => Volatile.Read(ref _deadlines[Slot(reason)]) != Unarmed;

    private static int Slot(TimeoutReason reason)
    {
        System.Diagnostics.Debug.Assert(reason is > TimeoutReason.None and <= TimeoutReason.KeepAlivePingAck);
        return (int)reason;
    }

    // ---- request body rate ----

    /// <summary>A request body starts: from now on its bytes and the app's read waits are counted (0 rate: not checked).</summary>
    public void StartRequestBody(double minRate, TimeSpan grace)
    {
        lock (_rateLock)
        {
            _read.Start(minRate, grace);
            _bytesRead = 0;
        }
    }

    public void StopRequestBody()
    {
        lock (_rateLock)
        {
            _read.Stop();
        }
    }

    /// <summary>The app waits in a body read: the rate clock runs.</summary>
    public void StartTimingRead()
    {
        lock (_rateLock)
        {
            _read.StartTiming(_clock.Now);
        }
    }

    /// <summary>The body read returned: the app is working, so the clock stops (a slow app is not the client's fault).</summary>
    public void StopTimingRead()
    {
        lock (_rateLock)
        {
            _read.StopTiming(_clock.Now);
        }
    }

    public void BytesRead(long count)
    {
        lock (_rateLock)
        {
            _bytesRead += count;
        }
    }

    private bool ReadTooSlow(long now)
    {
        lock (_rateLock)
        {
            if (!_read.IsTooSlow(now, _bytesRead))
            {
                return false;
            }

            _read.Stop(); // fires once per body
            return true;
        }
    }

    // ---- response rate ----

    /// <summary>Before a flush of <paramref name="count"/> bytes: they may take grace + count / rate (after what is already queued).</summary>
    public void BytesWritten(long count)
    {
        if (_writeRate <= 0 || count <= 0)
        {
            return;
        }

        lock (_rateLock)
        {
            if (_writeDeadline != long.MaxValue)
            {
                _writeDeadline = Math.Max(_writeDeadline, _clock.Now + _writeGrace) + (long)(count * 1000 / _writeRate);
            }
        }
    }

    /// <summary>A flush waits on the client: the response rate is checked until <see cref="StopTimingWrite"/>.</summary>
    public void StartTimingWrite() => Interlocked.Increment(ref _writesWaiting);

    public void StopTimingWrite() => Interlocked.Decrement(ref _writesWaiting);

    private bool WriteTooSlow(long now)
    {
        if (_writeRate <= 0 || Volatile.Read(ref _writesWaiting) <= 0)
        {
            return false;
        }

        lock (_rateLock)
        {
            if (_writeDeadline == 0 || now <= _writeDeadline)
            {
                return false;
            }

            _writeDeadline = long.MaxValue; // fires once: the connection is being closed
            return true;
        }
    }

    // ---- the heartbeat's side ----

    /// <summary>Heartbeat thread: marks what expired and queues it for the handler on the connection's scheduler.</summary>
    public void Tick(long now)
    {
        int fired = 0;
        for (int i = 1; i < DeadlineSlots; i++)
        {
            long deadline = Volatile.Read(ref _deadlines[i]);
            if (now >= deadline && Interlocked.CompareExchange(ref _deadlines[i], Unarmed, deadline) == deadline)
            {
                fired |= 1 << i;
            }
        }

        if (ReadTooSlow(now))
        {
            fired |= 1 << (int)TimeoutReason.ReadDataRate;
        }

        if (WriteTooSlow(now))
        {
            fired |= 1 << (int)TimeoutReason.WriteDataRate;
        }

        if (fired != 0)
        {
            Expire(fired);
        }
    }

    /// <summary>Queues <paramref name="reason"/> for the handler (used for deadlines a session tracks itself, e.g. per HTTP/2 stream).</summary>
    public void Expire(TimeoutReason reason) => Expire(1 << (int)reason);

    private void Expire(int mask)
    {
        // One queued item drains every reason marked before it runs.
        if (Interlocked.Or(ref _expired, mask) == 0)
        {
            _scheduler.Schedule(static s => ((TimeoutControl)s!).RunExpired(), this);
        }
    }

    private void RunExpired()
    {
        int mask = Interlocked.Exchange(ref _expired, 0);
        var handler = Handler;
        for (int i = 1; mask != 0 && handler is not null; i++)
        {
            if ((mask & (1 << i)) != 0)
            {
                mask &= ~(1 << i);
                handler.OnTimeout((TimeoutReason)i);
            }
        }
    }
}
