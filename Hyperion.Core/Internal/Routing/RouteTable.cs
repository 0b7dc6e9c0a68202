using System.Buffers;
using System.Text;

namespace Hyperion.Internal.Routing;

/// <summary>
/// The (method, path) routes of one server: exact paths in one hash table, templates in one trie per method.
/// Registration swaps in a new immutable snapshot, so lookups on the request path take no lock and
/// allocate nothing (paths are looked up as spans). An exact path is always more specific than a
/// template that matches it, so templates are tried only when no exact path answers.
/// </summary>
internal sealed class RouteTable
{
    /// <summary>Paths up to this length are converted on the stack for the exact lookup.</summary>
    private const int StackPath = 2048;

    private readonly Lock _lock = new();
    private Snapshot _snapshot = new(new Dictionary<string, PathRoutes>(StringComparer.Ordinal), []);

    public bool IsEmpty => _snapshot.Paths.Count == 0 && _snapshot.Templates.Length == 0;

    /// <summary>Adds a route; throws when the same method and path is registered, or a template conflicts with another.</summary>
    public void Add(RouteEntry entry)
    {
        lock (_lock)
        {
            var snapshot = _snapshot;
            if (entry.Pattern.IsTemplate)
            {
                foreach (var other in snapshot.Templates)
                {
                    if (other.Method != entry.Method)
                    {
                        continue;
                    }

                    var relation = RoutePattern.Compare(entry.Pattern, other.Pattern);
                    if (relation == PatternRelation.Equivalent)
                    {
                        throw new ArgumentException(other.Path == entry.Path
                            ? $"The route '{entry.Method} {entry.Path}' is already registered."
                            : $"The route '{entry.Method} {entry.Path}' conflicts with '{other.Method} {other.Path}': both match the same paths.", "path");
                    }

                    if (relation == PatternRelation.Overlaps)
                    {
                        throw new ArgumentException(
                            $"The route '{entry.Method} {entry.Path}' conflicts with '{other.Method} {other.Path}': both match paths such as " +
                            $"'{RoutePattern.ExamplePath(entry.Pattern, other.Pattern)}' and neither is more specific.", "path");
                    }
                }

                Volatile.Write(ref _snapshot, new Snapshot(snapshot.Paths, [.. snapshot.Templates, entry]));
                return;
            }

            var paths = new Dictionary<string, PathRoutes>(snapshot.Paths, StringComparer.Ordinal);
            var existing = paths.TryGetValue(entry.Path, out var routes) ? routes.Entries : [];
            if (existing.Any(e => e.Method == entry.Method))
            {
                throw new ArgumentException($"The route '{entry.Method} {entry.Path}' is already registered.", "path");
            }

            paths[entry.Path] = new PathRoutes(entry.Path, [.. existing, entry]);
            Volatile.Write(ref _snapshot, new Snapshot(paths, snapshot.Templates));
        }
    }

    /// <summary>
    /// Finds the route for <paramref name="method"/> and the raw path <c>buffer[start..start+length]</c>, filling
    /// <paramref name="values"/> when a template matches. <paramref name="routes"/> is set when some route matches
    /// the path (the exact path's routes, or every method that matches it when only templates do): the source of a
    /// 405's Allow.
    /// </summary>
    public RouteEntry? Find(string method, byte[] buffer, int start, int length, RouteValues values, out PathRoutes? routes)
    {
        values.Clear();
        var snapshot = Volatile.Read(ref _snapshot);
        var path = buffer.AsSpan(start, length);
        routes = null;
        if (snapshot.Paths.Count > 0)
        {
            char[]? rented = null;
            Span<char> chars = length <= StackPath ? stackalloc char[length] : (rented = ArrayPool<char>.Shared.Rent(length)).AsSpan(0, length);
            for (int i = 0; i < path.Length; i++)
            {
                chars[i] = (char)path[i];
            }

            snapshot.Lookup.TryGetValue(chars, out routes);
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }

            if (routes?.Find(method) is { } exact)
            {
                return exact;
            }
        }

        return snapshot.Templates.Length == 0 ? null : FindTemplate(snapshot, method, buffer, start, length, values, ref routes);
    }

    /// <summary>The same lookup for a path set by middleware (or <c>*</c>).</summary>
    public RouteEntry? Find(string method, string path, RouteValues values, out PathRoutes? routes)
    {
        values.Clear();
        var snapshot = Volatile.Read(ref _snapshot);
        routes = snapshot.Paths.GetValueOrDefault(path);
        if (routes?.Find(method) is { } exact)
        {
            return exact;
        }

        if (snapshot.Templates.Length == 0 || path == "*")
        {
            return null;
        }

        var bytes = values.HoldPath(path, out int length);
        return FindTemplate(snapshot, method, bytes, 0, length, values, ref routes);
    }

    /// <summary>The exact routes registered for <paramref name="path"/>.</summary>
    public PathRoutes? Find(string path) => Volatile.Read(ref _snapshot).Paths.GetValueOrDefault(path);

    /// <summary>Every method registered on any path or template, for the Allow header of <c>OPTIONS *</c>.</summary>
    public string AllMethods()
    {
        var snapshot = Volatile.Read(ref _snapshot);
        var methods = new List<string>();
        foreach (var routes in snapshot.Paths.Values)
        {
            foreach (var m in routes.Allow.Split(", "))
            {
                AddMethod(methods, m);
            }
        }

        foreach (var t in snapshot.Templates)
        {
            AddMethod(methods, t.Method);
        }

        AddMethod(methods, "OPTIONS");
        return string.Join(", ", methods);
    }

    private static void AddMethod(List<string> methods, string method)
    {
        if (!methods.Contains(method))
        {
            methods.Add(method);
        }

        if (method == "GET" && !methods.Contains("HEAD"))
        {
            methods.Add("HEAD");
        }
    }

    private static RouteEntry? FindTemplate(Snapshot snapshot, string method, byte[] buffer, int start, int length, RouteValues values, ref PathRoutes? routes)
    {
        var path = buffer.AsSpan(start, length);
        Span<int> captures = stackalloc int[2 * snapshot.MaxWildcards];
        var own = snapshot.Trie(method);
        var entry = own?.Match(path, captures);
        if (entry is null && method == "HEAD")
        {
            // HEAD falls back to GET (RFC 9110 §9.3.2): after the exact path's routes and every HEAD template.
            entry = snapshot.Trie("GET")?.Match(path, captures);
        }

        if (entry is not null)
        {
            values.Set(entry.Pattern.Names, buffer, start, captures[..(2 * entry.Pattern.Names.Length)]);
            return entry;
        }

        // A miss for this method: the 405's Allow names every method some route matches this path for.
        List<RouteEntry>? matched = null;
        foreach (var (_, trie) in snapshot.Tries)
        {
            if (!ReferenceEquals(trie, own) && trie.Match(path, captures) is { } other)
            {
                (matched ??= [.. routes?.Entries ?? []]).Add(other);
            }
        }

        if (matched is not null)
        {
            routes = new PathRoutes(routes?.Path ?? Encoding.UTF8.GetString(path), [.. matched]);
        }

        return null;
    }

    private sealed class Snapshot
    {
        public Snapshot(Dictionary<string, PathRoutes> paths, RouteEntry[] templates)
        {
            Paths = paths;
            Lookup = paths.GetAlternateLookup<ReadOnlySpan<char>>();
            Templates = templates;
            var tries = new List<(string Method, TemplateNode Root)>();
            foreach (var t in templates)
            {
                int i = tries.FindIndex(x => ReferenceEquals(x.Method, t.Method));
                if (i < 0)
                {
                    tries.Add((t.Method, new TemplateNode()));
                    i = tries.Count - 1;
                }

                tries[i].Root.Insert(t);
                MaxWildcards = Math.Max(MaxWildcards, t.Pattern.Names.Length);
            }

            Tries = [.. tries];
        }

        public Dictionary<string, PathRoutes> Paths { get; }

        public Dictionary<string, PathRoutes>.AlternateLookup<ReadOnlySpan<char>> Lookup { get; }

        /// <summary>Every template route, in registration order.</summary>
        public RouteEntry[] Templates { get; }

        /// <summary>One trie per method, in the order methods were first registered (the order of a 405's Allow).</summary>
        public (string Method, TemplateNode Root)[] Tries { get; }

        public int MaxWildcards { get; }

        public TemplateNode? Trie(string method)
        {
            foreach (var (m, root) in Tries)
            {
                if (ReferenceEquals(m, method) || m == method)
                {
                    return root;
                }
            }

            return null;
        }
    }
}
