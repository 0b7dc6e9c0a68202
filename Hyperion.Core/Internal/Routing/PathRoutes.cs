namespace Hyperion.Internal.Routing;

/// <summary>All entries registered for one path (or matching one path), and the Allow value a 405 for that path carries.</summary>
internal sealed class PathRoutes
{
    public PathRoutes(string path, RouteEntry[] entries)
    {
        Path = path;
        Entries = entries;
        var methods = entries.Select(e => e.Method).Distinct().ToList();
        if (methods.Contains("GET") && !methods.Contains("HEAD"))
        {
            methods.Insert(methods.IndexOf("GET") + 1, "HEAD");
        }

        Allow = string.Join(", ", methods);
    }

    public string Path { get; }

    public RouteEntry[] Entries { get; }

    public string Allow { get; }

    /// <summary>The entry for <paramref name="method"/>; HEAD falls back to GET (RFC 9110 §9.3.2).</summary>
    public RouteEntry? Find(string method)
    {
        RouteEntry? get = null;
        foreach (var e in Entries)
        {
            if (ReferenceEquals(e.Method, method) || e.Method == method)
            {
                return e;
            }

            if (ReferenceEquals(e.Method, "GET"))
            {
                get = e;
            }
        }

        return ReferenceEquals(method, "HEAD") ? get : null;
    }
}
