using System.Net;

namespace Hyperion;

/// <summary>A fully read request, as legacy handlers see it: no streaming, everything parsed and owned.</summary>
public sealed class Request
{
    internal Request(string method, string path, string query, string version, IReadOnlyList<(string Name, string Value)> headers, byte[] body, IPEndPoint? peer)
    {
        Method = method;
        Path = path;
        Query = query;
        Version = version;
        Headers = headers;
        Body = body;
        Peer = peer;
    }

    /// <summary>The request method.</summary>
    public string Method { get; }

    /// <summary>The path part of the target, as received.</summary>
    public string Path { get; }

    /// <summary>The query string without '?', empty when none.</summary>
    public string Query { get; }

    /// <summary>The protocol version, e.g. <c>HTTP/1.1</c>.</summary>
    public string Version { get; }

    /// <summary>The header fields in arrival order, names as received.</summary>
    public IReadOnlyList<(string Name, string Value)> Headers { get; }

    /// <summary>The whole decoded body.</summary>
    public byte[] Body { get; }

    /// <summary>The client's address, or null for the in-process client.</summary>
    public IPEndPoint? Peer { get; }

    /// <summary>The first header named <paramref name="name"/> (case-insensitive), or null.</summary>
    public string? Header(string name)
    {
        foreach (var (n, v) in Headers)
        {
            if (n.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return v;
            }
        }

        return null;
    }
}
