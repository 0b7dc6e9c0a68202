using System.Text;

namespace Hyperion.Internal.Routing;

/// <summary>
/// A registered path split into segments: literals, <c>{name}</c> (one non-empty segment) and a final
/// <c>{name...}</c> (the rest of the path). Precedence and conflicts follow Go 1.22's <c>net/http.ServeMux</c>:
/// one pattern is more specific than another when it matches a strict subset of its paths.
/// </summary>
internal sealed class RoutePattern
{
    private RoutePattern(string text, Segment[] segments, string[] names)
    {
        Text = text;
        Segments = segments;
        Names = names;
    }

    /// <summary>The pattern as registered.</summary>
    public string Text { get; }

    /// <summary>The segments after the leading '/'.</summary>
    public Segment[] Segments { get; }

    /// <summary>The wildcard names in order; empty for an exact path.</summary>
    public string[] Names { get; }

    public bool IsTemplate => Names.Length > 0;

    /// <summary>Parses a path that already passed the character checks; throws when a wildcard is malformed.</summary>
    public static RoutePattern Parse(string path)
    {
        if (path == "*" || path.IndexOfAny(['{', '}']) < 0)
        {
            return new RoutePattern(path, [], []);
        }

        var parts = path[1..].Split('/');
        var segments = new Segment[parts.Length];
        var names = new List<string>();
        for (int i = 0; i < parts.Length; i++)
        {
            string part = parts[i];
            if (part.IndexOfAny(['{', '}']) < 0)
            {
                segments[i] = new Segment(SegmentKind.Literal, part, null);
                continue;
            }

            // Go's rule: a wildcard is a whole segment, so "/b_{bucket}" is refused rather than guessed at.
            if (part.Length < 3 || part[0] != '{' || part[^1] != '}')
            {
                throw new ArgumentException($"'{path}' is not a valid route pattern: a wildcard must be a whole segment, '{{name}}' or '{{name...}}' (segment '{part}').", nameof(path));
            }

            bool rest = part.EndsWith("...}", StringComparison.Ordinal);
            string name = rest ? part[1..^4] : part[1..^1];
            if (!IsIdentifier(name))
            {
                throw new ArgumentException($"'{path}' is not a valid route pattern: '{name}' is not a valid wildcard name (a letter or '_', then letters, digits or '_').", nameof(path));
            }

            if (rest && i != parts.Length - 1)
            {
                throw new ArgumentException($"'{path}' is not a valid route pattern: '{{{name}...}}' must be the last segment.", nameof(path));
            }

            if (names.Contains(name))
            {
                throw new ArgumentException($"'{path}' is not a valid route pattern: the wildcard name '{name}' appears twice.", nameof(path));
            }

            names.Add(name);
            segments[i] = new Segment(rest ? SegmentKind.Rest : SegmentKind.Wildcard, null, name);
        }

        return new RoutePattern(path, segments, names.ToArray());
    }

    /// <summary>How the paths <paramref name="a"/> matches relate to those <paramref name="b"/> matches (both templates).</summary>
    public static PatternRelation Compare(RoutePattern a, RoutePattern b)
    {
        var relation = PatternRelation.Equivalent;
        var sa = a.Segments;
        var sb = b.Segments;
        int i = 0;
        for (; i < sa.Length && i < sb.Length; i++)
        {
            var x = sa[i];
            var y = sb[i];
            if (x.Kind == SegmentKind.Rest || y.Kind == SegmentKind.Rest)
            {
                // A rest wildcard matches any one or more remaining segments: it contains whatever the other has left.
                var step = x.Kind == y.Kind ? PatternRelation.Equivalent : x.Kind == SegmentKind.Rest ? PatternRelation.MoreGeneral : PatternRelation.MoreSpecific;
                return Combine(relation, step);
            }

            if (x.Kind == SegmentKind.Wildcard && y.Kind == SegmentKind.Wildcard)
            {
                continue;
            }

            if (x.Kind == SegmentKind.Wildcard)
            {
                // {name} never matches an empty segment, so it and an empty literal share no path.
                if (y.Literal!.Length == 0)
                {
                    return PatternRelation.Disjoint;
                }

                relation = Combine(relation, PatternRelation.MoreGeneral);
                continue;
            }

            if (y.Kind == SegmentKind.Wildcard)
            {
                if (x.Literal!.Length == 0)
                {
                    return PatternRelation.Disjoint;
                }

                relation = Combine(relation, PatternRelation.MoreSpecific);
                continue;
            }

            if (!string.Equals(x.Literal, y.Literal, StringComparison.Ordinal))
            {
                return PatternRelation.Disjoint;
            }
        }

        // Without a rest wildcard, patterns of different lengths match paths of different segment counts.
        return sa.Length == sb.Length ? relation : PatternRelation.Disjoint;
    }

    /// <summary>A path both patterns match, for the message that rejects a conflict.</summary>
    public static string ExamplePath(RoutePattern a, RoutePattern b)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < Math.Max(a.Segments.Length, b.Segments.Length); i++)
        {
            var x = i < a.Segments.Length ? a.Segments[i] : a.Segments[^1];
            var y = i < b.Segments.Length ? b.Segments[i] : b.Segments[^1];
            sb.Append('/').Append(x.Kind == SegmentKind.Literal ? x.Literal : y.Kind == SegmentKind.Literal ? y.Literal : "x");
        }

        return sb.ToString();
    }

    private static PatternRelation Combine(PatternRelation so, PatternRelation step)
    {
        if (so == PatternRelation.Equivalent)
        {
            return step;
        }

        return step == PatternRelation.Equivalent || step == so ? so : PatternRelation.Overlaps;
    }

    private static bool IsIdentifier(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] == '_'))
        {
            return false;
        }

        foreach (char c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }

    internal readonly record struct Segment(SegmentKind Kind, string? Literal, string? Name);

    internal enum SegmentKind
    {
        Literal,
        Wildcard,
        Rest,
    }
}
