namespace Hyperion.Internal.Routing;

/// <summary>One (method, path) registration. Exactly one of the handler fields is set, per <see cref="Kind"/>.</summary>
internal sealed class RouteEntry
{
    public required RouteKind Kind { get; init; }

    public required string Method { get; init; }

    public required string Path { get; init; }

    /// <summary>The parsed path; a template when it holds wildcards.</summary>
    public required RoutePattern Pattern { get; init; }

    public StaticResponse? Static { get; init; }

    public Func<RackEnv, RackResponse>? Sync { get; init; }

    public Func<RackEnv, ValueTask<RackResponse>>? Async { get; init; }

    public IRequestHandler? Legacy { get; init; }
}
