namespace Hyperion;

/// <summary>Options for <see cref="HyperionServer.MapFiles(string, string, StaticFileOptions)"/>.</summary>
public sealed class StaticFileOptions
{
    /// <summary>
    /// Media types by file extension (with the dot, case-insensitive), starting from a built-in table of common web
    /// types; add, change or remove entries before the server starts.
    /// </summary>
    public IDictionary<string, string> ContentTypes { get; } = Internal.Files.ContentTypeTable.CreateDefault();

    /// <summary>The media type of a file whose extension is not in <see cref="ContentTypes"/>.</summary>
    public string DefaultContentType { get; set; } = "application/octet-stream";

    /// <summary>The file served for a directory path ending in '/'; null serves no directory. Default <c>index.html</c>.</summary>
    public string? IndexFile { get; set; } = "index.html";

    /// <summary>
    /// Serve files and directories whose name starts with '.' (<c>.env</c>, <c>.git/config</c>). Off by default, as in
    /// ASP.NET Core's PhysicalFileProvider, and checked for every segment of the path, not only the last.
    /// </summary>
    public bool ServeHiddenFiles { get; set; }

    /// <summary>
    /// Serve files reached through a symbolic link that resolves outside the root directory. Off by default: the real
    /// path of the opened file must lie under the root's real path.
    /// </summary>
    public bool AllowSymlinksOutsideRoot { get; set; }

    /// <summary>A <c>Cache-Control</c> value sent with every file (and its 304s); none by default.</summary>
    public string? CacheControl { get; set; }
}
