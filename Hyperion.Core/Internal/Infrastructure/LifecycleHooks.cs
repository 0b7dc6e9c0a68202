namespace Hyperion.Internal.Infrastructure;

/// <summary>Request start/end hooks. Arrays are swapped on registration so the request path reads them without locks; none registered costs one branch.</summary>
internal sealed class LifecycleHooks
{
    private Action<RackEnv>[] _start = [];
    private Action<RackEnv, RackResponse?, Exception?>[] _end = [];

    public bool HasStart => _start.Length > 0;

    public bool HasEnd => _end.Length > 0;

    public void AddStart(Action<RackEnv> hook) => _start = [.. _start, hook];

    public void AddEnd(Action<RackEnv, RackResponse?, Exception?> hook) => _end = [.. _end, hook];

    public void RunStart(RackEnv env, ServerLog log)
    {
        foreach (var hook in _start)
        {
            try
            {
                hook(env);
            }
            catch (Exception ex)
            {
                log.HookError("request start", ex);
            }
        }
    }

    public void RunEnd(RackEnv env, RackResponse? response, Exception? error, ServerLog log)
    {
        foreach (var hook in _end)
        {
            try
            {
                hook(env, response, error);
            }
            catch (Exception ex)
            {
                log.HookError("request end", ex);
            }
        }
    }
}
