using Hyperion.Internal.Infrastructure;

namespace Hyperion.Internal.Dispatch;

/// <summary>
/// Notices a callback (route, app, middleware chain) that holds the thread it was dispatched inline on longer than
/// <see cref="HyperionOptions.LoopStallThreshold"/>: once when the call returns (two timestamps per inline call) and,
/// on the loop transports, while it is still running (a monitor that looks at every loop's <see cref="InlineCallSlot"/>,
/// as Vert.x's blocked-thread checker does, but naming the route). The route gets one Warning and, with
/// <see cref="HyperionOptions.OffloadBlockingRoutes"/>, runs on the thread pool from then on (one more Warning).
/// A call is charged only the time it held its thread: the time the thread waited for a CPU (<see cref="CpuWaitClock"/>)
/// is not the route's doing, and counting it moved a fast route to the pool for good whenever the machine was busy.
/// </summary>
internal sealed class LoopWatchdog
{
    /// <summary>
    /// A target's first call may take this many thresholds: it pays for JIT compilation and first-use setup (a JSON
    /// serializer's metadata, a connection pool), which must not move a fast route to the pool for good.
    /// </summary>
    public const int FirstCallAllowance = 10;

    private readonly TimeProvider _time;
    private readonly ServerLog _log;
    private readonly bool _coarse;
    private readonly long _ticksPerMs;
    private readonly long _thresholdMs;
    private readonly bool _offload;
    private readonly TimeSpan _interval;
    private readonly long _markIntervalMs;
    private readonly Lock _lock = new();
    private InlineCallSlot[] _slots = [];
    private ITimer? _timer;
    private CancellationTokenSource? _monitorStop;

    [ThreadStatic]
    private static CpuWaitMark? t_mark;

    public LoopWatchdog(HyperionOptions options, ServerLog log)
    {
        _time = options.TimeProvider;
        _log = log;
        _offload = options.OffloadBlockingRoutes;
        // The system clock is read coarsely (CLOCK_MONOTONIC_COARSE, a few ns, ms resolution): two reads per inline
        // call must cost next to nothing, and a 50 ms threshold needs no finer clock. A test's clock is exact.
        _coarse = _time == TimeProvider.System;
        _ticksPerMs = Math.Max(1, _time.TimestampFrequency / 1000);

        // The kernel's wait is in real milliseconds: a fake clock pairs with no wait unless a test sets a fake one.
        CpuWait = _coarse ? CpuWaitClock.System : CpuWaitClock.None;
        if (options.LoopStallThreshold is { } threshold)
        {
            _thresholdMs = Math.Max(1, (long)threshold.TotalMilliseconds);

            // Twice per threshold: a stall is reported at most 1.5 thresholds after it began.
            _interval = TimeSpan.FromTicks(Math.Clamp(threshold.Ticks / 2, TimeSpan.TicksPerMillisecond, TimeSpan.TicksPerSecond));

            // A call's CPU wait is read from a mark at most this old when it began, so at most this much wait from
            // before the call can be subtracted from it: a call that holds its thread 1.25 thresholds is always caught.
            _markIntervalMs = Math.Max(1, _thresholdMs / 4);
        }
    }

    /// <summary>Where the time a thread waited for a CPU is read (tests: a fake one beside a fake clock).</summary>
    internal CpuWaitClock CpuWait { get; set; }

    public bool Enabled => _thresholdMs > 0;

    /// <summary>Milliseconds on the server's clock (any origin).</summary>
    public long Timestamp() => _coarse ? Environment.TickCount64 : _time.GetTimestamp() / _ticksPerMs;

    /// <summary>
    /// An inline call begins on this thread (<paramref name="slot"/>: its loop's, or null off the loops): returns its
    /// start (<see cref="Timestamp"/>) and, when the thread's mark is older than a quarter threshold, reads its CPU wait.
    /// </summary>
    public long Begin(InlineCallSlot? slot)
    {
        long now = Timestamp();
        var mark = slot?.Mark ?? (t_mark ??= new CpuWaitMark());
        if (mark.IsStale(this, now, _markIntervalMs))
        {
            mark.Set(this, now, CpuWait.CurrentThread());
        }

        return now;
    }

    /// <summary>After an inline call of <paramref name="target"/> that began at <paramref name="start"/> (<see cref="Begin"/>, on this thread) returned (or threw).</summary>
    public void Returned(DispatchTarget target, long start, InlineCallSlot? slot, bool streamingBody = false)
    {
        long elapsed = Timestamp() - start;
        long limit = LimitFor(target, streamingBody);
        long waited = 0;
        if (elapsed > limit)
        {
            var mark = slot?.Mark ?? t_mark;
            waited = mark is null ? 0 : Waited(mark.WaitFor(this), CpuWait.CurrentThread(), elapsed);
            elapsed -= waited;
        }

        if (streamingBody)
        {
            target.MarkBodyWarm();
        }
        else
        {
            target.MarkWarm();
        }

        if (elapsed > limit)
        {
            var thread = Thread.CurrentThread;
            string where = Transport.Loops.TransportLoop.IsLoopThread ? $"loop thread {thread.Name}" : $"thread {thread.Name ?? thread.ManagedThreadId.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
            OnStall(target, where, elapsed, waited, stillRunning: false);
        }
    }

    /// <summary>A loop thread starts being watched (from its own thread, before it serves anything).</summary>
    public void Watch(InlineCallSlot slot)
    {
        if (!Enabled)
        {
            return;
        }

        slot.ThreadId = CpuWait.CurrentThreadId();
        lock (_lock)
        {
            _slots = [.. _slots, slot];
            if (_timer is null && _monitorStop is null)
            {
                StartMonitor();
            }
        }
    }

    /// <summary>A loop thread ended; the monitor stops with the last one.</summary>
    public void Unwatch(InlineCallSlot slot)
    {
        lock (_lock)
        {
            _slots = [.. _slots.Where(s => s != slot)];
            if (_slots.Length == 0)
            {
                _timer?.Dispose();
                _timer = null;
                _monitorStop?.Cancel();
                _monitorStop = null;
            }
        }
    }

    private void StartMonitor()
    {
        if (_time == TimeProvider.System)
        {
            // Its own thread, not a timer: when blocking routes have starved the thread pool, a pool timer would
            // report them late or not at all.
            var stop = new CancellationTokenSource();
            _monitorStop = stop;
            var thread = new Thread(() => RunMonitor(stop.Token)) { IsBackground = true, Name = "hyperion-watchdog" };
            thread.Start();
        }
        else
        {
            // A test's fake clock: the check runs when the test moves the clock.
            _timer = _time.CreateTimer(static s => ((LoopWatchdog)s!).Check(), this, _interval, _interval);
        }
    }

    private void RunMonitor(CancellationToken stop)
    {
        while (!stop.WaitHandle.WaitOne(_interval))
        {
            Check();
        }
    }

    /// <summary>Monitor: reports each loop stuck in one inline call beyond the threshold, once per call.</summary>
    internal void Check()
    {
        long now = Timestamp();
        foreach (var slot in Volatile.Read(ref _slots))
        {
            long call = slot.Active;
            if (call == 0 || call == slot.Reported)
            {
                continue;
            }

            var target = slot.Target;
            long start = slot.Start;
            bool body = slot.StreamingBody;
            long markWait = slot.Mark.WaitFor(this);
            if (slot.Active != call || target is null)
            {
                continue;
            }

            // Looked at on every tick a call runs, so the bound on a wait still in progress is about one interval.
            long ongoing = CpuWait.OngoingWait(slot, now);
            long limit = LimitFor(target, body);
            if (now - start <= limit)
            {
                continue;
            }

            // A loop that is runnable but not running (the machine is busy) holds nothing: look again on the next tick.
            // The kernel counts a wait once the thread runs again, so one that may be waiting right now is given that too.
            long waited = Waited(markWait, CpuWait.OfThread(slot.ThreadId), now - start);
            if (now - start - waited - ongoing <= limit)
            {
                continue;
            }

            slot.Reported = call;
            OnStall(target, $"loop thread {slot.ThreadName}", now - start - waited, waited, stillRunning: true);
        }
    }

    private long LimitFor(DispatchTarget target, bool streamingBody)
        => (streamingBody ? target.BodyWarm : target.Warm) ? _thresholdMs : _thresholdMs * FirstCallAllowance;

    /// <summary>The CPU wait between the mark before the call and now, at most the call's wall time; 0 when unknown.</summary>
    private static long Waited(long markWait, long nowWait, long elapsed)
        => markWait < 0 || nowWait < 0 ? 0 : Math.Clamp(nowWait - markWait, 0, elapsed);

    private void OnStall(DispatchTarget target, string where, long heldMs, long waitedMs, bool stillRunning)
    {
        if (target.TryMarkWarned())
        {
            _log.LoopStall(target.Name, where, heldMs, waitedMs, stillRunning, _thresholdMs);
        }

        if (_offload && target.TryOffload())
        {
            _log.RouteOffloaded(target.Name);
        }
    }
}
