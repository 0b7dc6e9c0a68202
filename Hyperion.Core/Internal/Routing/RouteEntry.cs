using Hyperion.Internal.Dispatch;

namespace Hyperion.Internal.Routing;

/// <summary>One (method, path) registration. Exactly one of the handler fields is set, per <see cref="Kind"/>.</summary>
internal sealed class RouteEntry
{
    private DispatchTarget? _dispatch;

    public required RouteKind Kind { get; init; }

    public required string Method { get; init; }

    public required string Path { get; init; }

    /// <summary>The parsed path; a template when it holds wildcards.</summary>
    public required RoutePattern Pattern { get; init; }

    public StaticResponse? Static { get; init; }

    public Func<RackEnv, RackResponse>? Sync { get; init; }

    public Func<RackEnv, ValueTask<RackResponse>>? Async { get; init; }

    public IRequestHandler? Legacy { get; init; }

    /// <summary>The mode given at registration; null follows <see cref="HyperionOptions.DefaultDispatch"/>. Static routes ignore it.</summary>
    public DispatchMode? RequestedDispatch { get; init; }

    /// <summary>The route's dispatch state, named "METHOD pattern" in the watchdog's log lines.</summary>
    public DispatchTarget Dispatch
    {
        get
        {
            return _dispatch ?? Create();

            DispatchTarget Create()
            {
                Interlocked.CompareExchange(ref _dispatch, new DispatchTarget($"{Method} {Path}", RequestedDispatch), null);
                return _dispatch;
            }
        }
    }
}
