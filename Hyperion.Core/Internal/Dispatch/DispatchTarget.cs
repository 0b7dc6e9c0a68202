namespace Hyperion.Internal.Dispatch;

/// <summary>
/// What the loop watchdog blames and switches: one route (method + pattern), the app, or the middleware chain
/// around requests no route matched. Holds the configured <see cref="DispatchMode"/> and whether the watchdog moved
/// it to the thread pool.
/// </summary>
internal sealed class DispatchTarget
{
    private readonly DispatchMode? _requested;
    private volatile bool _offloaded;
    private volatile bool _warm;
    private volatile bool _bodyWarm;
    private int _warned;

    public DispatchTarget(string name, DispatchMode? requested)
    {
        Name = name;
        _requested = requested;
    }

    /// <summary>How the log names it, e.g. <c>GET /todos</c> or <c>the app</c>.</summary>
    public string Name { get; }

    /// <summary>False until its first inline call returned: that call includes JIT compilation and first-use setup.</summary>
    public bool Warm => _warm;

    public void MarkWarm()
    {
        if (!_warm)
        {
            _warm = true;
        }
    }

    /// <summary>False until a streaming body of its responses first returned from its callback (its own JIT and first use).</summary>
    public bool BodyWarm => _bodyWarm;

    public void MarkBodyWarm()
    {
        if (!_bodyWarm)
        {
            _bodyWarm = true;
        }
    }

    /// <summary>
    /// Its code reads the request body only asynchronously (gRPC's handlers): it may start inline before the body is all
    /// here, and on a loop transport each arrival of body bytes resumes it on the loop, timed like the route itself,
    /// instead of on the thread pool (see <see cref="RequestDispatcher.RunContinuation"/>).
    /// </summary>
    public bool ReadsBodyAsynchronously { get; set; }

    /// <summary>True once the watchdog switched it to the thread pool.</summary>
    public bool Offloaded => _offloaded;

    /// <summary>Its own mode, or the server's default when it has none.</summary>
    public bool RunsOnThreadPool(DispatchMode serverDefault) => _offloaded || (_requested ?? serverDefault) == DispatchMode.ThreadPool;

    /// <summary>True only for the first stall: each target gets one warning, however often it blocks.</summary>
    public bool TryMarkWarned() => Interlocked.Exchange(ref _warned, 1) == 0;

    /// <summary>True when this call switched it (so the switch is logged once).</summary>
    public bool TryOffload()
    {
        if (_offloaded)
        {
            return false;
        }

        lock (this)
        {
            if (_offloaded)
            {
                return false;
            }

            _offloaded = true;
            return true;
        }
    }
}
