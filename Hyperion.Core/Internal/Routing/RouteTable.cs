using System.Text;

namespace Hyperion.Internal.Routing;

/// <summary>
/// Exact (method, path) routes of one server. Registration swaps in a new immutable snapshot, so
/// lookups on the request path take no lock and allocate nothing (paths are looked up as spans).
/// </summary>
internal sealed class RouteTable
{
    private readonly Lock _lock = new();
    private Snapshot _snapshot = new(new Dictionary<string, PathRoutes>(StringComparer.Ordinal));

    public bool IsEmpty => _snapshot.Paths.Count == 0;

    public void Add(RouteEntry entry)
    {
        lock (_lock)
        {
            var paths = new Dictionary<string, PathRoutes>(_snapshot.Paths, StringComparer.Ordinal);
            var existing = paths.TryGetValue(entry.Path, out var routes) ? routes.Entries : [];
            var entries = existing.Where(e => e.Method != entry.Method).Append(entry).ToArray();
            paths[entry.Path] = new PathRoutes(entry.Path, entries);
            Volatile.Write(ref _snapshot, new Snapshot(paths));
        }
    }

    /// <summary>Finds the routes for a path given as the raw ASCII bytes of the request target.</summary>
    public PathRoutes? Find(ReadOnlySpan<byte> path)
    {
        var snapshot = Volatile.Read(ref _snapshot);
        if (snapshot.Paths.Count == 0 || path.Length > 2048)
        {
            return path.Length > 2048 ? FindLong(snapshot, path) : null;
        }

        Span<char> chars = stackalloc char[path.Length];
        for (int i = 0; i < path.Length; i++)
        {
            chars[i] = (char)path[i];
        }

        return snapshot.Lookup.TryGetValue(chars, out var routes) ? routes : null;
    }

    public PathRoutes? Find(string path) => Volatile.Read(ref _snapshot).Paths.GetValueOrDefault(path);

    /// <summary>Every method registered on any path, for the Allow header of <c>OPTIONS *</c>.</summary>
    public string AllMethods()
    {
        var methods = new List<string>();
        foreach (var routes in Volatile.Read(ref _snapshot).Paths.Values)
        {
            foreach (var m in routes.Allow.Split(", "))
            {
                if (!methods.Contains(m))
                {
                    methods.Add(m);
                }
            }
        }

        if (!methods.Contains("OPTIONS"))
        {
            methods.Add("OPTIONS");
        }

        return string.Join(", ", methods);
    }

    private static PathRoutes? FindLong(Snapshot snapshot, ReadOnlySpan<byte> path)
        => snapshot.Paths.GetValueOrDefault(Encoding.ASCII.GetString(path));

    private sealed class Snapshot
    {
        public Snapshot(Dictionary<string, PathRoutes> paths)
        {
            Paths = paths;
            Lookup = paths.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        public Dictionary<string, PathRoutes> Paths { get; }

        public Dictionary<string, PathRoutes>.AlternateLookup<ReadOnlySpan<char>> Lookup { get; }
    }
}
