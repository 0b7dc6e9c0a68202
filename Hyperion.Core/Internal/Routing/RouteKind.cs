namespace Hyperion.Internal.Routing;

/// <summary>The three kinds of route-table entry, each with its own dispatch path.</summary>
internal enum RouteKind
{
    /// <summary>Pre-built response bytes.</summary>
    Static,

    /// <summary>A delegate over the env, run inline on the connection's loop.</summary>
    Dynamic,

    /// <summary>A handler over a fully parsed <see cref="Request"/>.</summary>
    Legacy,
}
