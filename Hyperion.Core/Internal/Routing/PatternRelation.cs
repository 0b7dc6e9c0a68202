namespace Hyperion.Internal.Routing;

/// <summary>How the set of paths one pattern matches relates to another's (Go 1.22 ServeMux's precedence).</summary>
internal enum PatternRelation
{
    /// <summary>Both match exactly the same paths (they differ at most in wildcard names).</summary>
    Equivalent,

    /// <summary>The first matches a strict subset of the second's paths: it wins where both match.</summary>
    MoreSpecific,

    /// <summary>The first matches a strict superset of the second's paths.</summary>
    MoreGeneral,

    /// <summary>Some path matches both and neither is more specific: a conflict.</summary>
    Overlaps,

    /// <summary>No path matches both.</summary>
    Disjoint,
}
