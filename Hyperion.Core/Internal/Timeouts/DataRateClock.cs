namespace Hyperion.Internal.Timeouts;

/// <summary>
/// The minimum-data-rate rule for one request body (HTTP/1.1 connection or HTTP/2 stream): bytes over the time
/// the app spent waiting for them. The clock runs only between <see cref="StartTiming"/> and <see cref="StopTiming"/>,
/// so an app busy elsewhere does not blame the client. Not thread-safe: the owner locks.
/// </summary>
internal struct DataRateClock
{
    private double _rate;
    private long _grace;
    private long _timed;
    private long _waitStartedAt;
    private bool _waiting;

    /// <summary>A body starts; a rate of 0 turns the rule off.</summary>
    public void Start(double bytesPerSecond, TimeSpan grace)
    {
        _rate = bytesPerSecond;
        _grace = (long)grace.TotalMilliseconds;
        _timed = 0;
        _waiting = false;
    }

    public void Stop()
    {
        _rate = 0;
        _waiting = false;
    }

    public void StartTiming(long now)
    {
        if (_rate > 0 && !_waiting)
        {
            _waiting = true;
            _waitStartedAt = now;
        }
    }

    public void StopTiming(long now)
    {
        if (_waiting)
        {
            _waiting = false;
            _timed += now - _waitStartedAt;
        }
    }

    /// <summary>True when, past the grace period of timed waiting, <paramref name="bytes"/> fall short of the rate.</summary>
    public readonly bool IsTooSlow(long now, long bytes)
    {
        if (_rate <= 0)
        {
            return false;
        }

        long timed = _timed + (_waiting ? now - _waitStartedAt : 0);
        return timed > _grace && bytes * 1000.0 / timed < _rate;
    }
}
