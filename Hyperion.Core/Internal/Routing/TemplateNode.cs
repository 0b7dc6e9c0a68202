namespace Hyperion.Internal.Routing;

/// <summary>
/// One node of the template trie of one method. Matching tries the literal child, then the <c>{name}</c>
/// child, then a <c>{name...}</c> ending here, backtracking on a dead end; with conflicts refused at
/// registration the first match found this way is the most specific pattern (as in Go's routing tree).
/// </summary>
internal sealed class TemplateNode
{
    private Dictionary<string, TemplateNode>? _literals;
    private Dictionary<string, TemplateNode>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    /// <summary>The route whose pattern ends at this node.</summary>
    public RouteEntry? Entry { get; private set; }

    /// <summary>The child for a <c>{name}</c> segment.</summary>
    public TemplateNode? Wildcard { get; private set; }

    /// <summary>The route whose <c>{name...}</c> takes everything after this node.</summary>
    public RouteEntry? Rest { get; private set; }

    public void Insert(RouteEntry entry)
    {
        var node = this;
        foreach (var segment in entry.Pattern!.Segments)
        {
            switch (segment.Kind)
            {
                case RoutePattern.SegmentKind.Literal:
                    if (node._literals is null)
                    {
                        node._literals = new Dictionary<string, TemplateNode>(SegmentComparer.Instance);
                        node._lookup = node._literals.GetAlternateLookup<ReadOnlySpan<byte>>();
                    }

                    if (!node._literals.TryGetValue(segment.Literal!, out var child))
                    {
                        child = new TemplateNode();
                        node._literals.Add(segment.Literal!, child);
                    }

                    node = child;
                    break;
                case RoutePattern.SegmentKind.Wildcard:
                    node = node.Wildcard ??= new TemplateNode();
                    break;
                default:
                    node.Rest = entry;
                    return;
            }
        }

        node.Entry = entry;
    }

    /// <summary>
    /// Matches <paramref name="path"/> (starting with '/', as received). <paramref name="captures"/> receives a
    /// (start, length) pair per wildcard, offsets into <paramref name="path"/>.
    /// </summary>
    public RouteEntry? Match(ReadOnlySpan<byte> path, Span<int> captures)
        => path.Length > 0 && path[0] == (byte)'/' ? Match(path, 1, captures, 0) : null;

    private RouteEntry? Match(ReadOnlySpan<byte> path, int start, Span<int> captures, int wildcards)
    {
        int slash = path[start..].IndexOf((byte)'/');
        int end = slash < 0 ? path.Length : start + slash;
        var segment = path[start..end];
        bool last = slash < 0;

        if (_literals is not null && _lookup.TryGetValue(segment, out var literal))
        {
            var found = last ? literal.Entry : literal.Match(path, end + 1, captures, wildcards);
            if (found is not null)
            {
                return found;
            }
        }

        // {name} matches one non-empty segment; a %2F inside it is not a separator (the path is split as received).
        if (Wildcard is { } wildcard && segment.Length > 0 && 2 * wildcards + 1 < captures.Length)
        {
            captures[2 * wildcards] = start;
            captures[(2 * wildcards) + 1] = segment.Length;
            var found = last ? wildcard.Entry : wildcard.Match(path, end + 1, captures, wildcards + 1);
            if (found is not null)
            {
                return found;
            }
        }

        if (Rest is { } rest && 2 * wildcards + 1 < captures.Length)
        {
            captures[2 * wildcards] = start;
            captures[(2 * wildcards) + 1] = path.Length - start;
            return rest;
        }

        return null;
    }
}
