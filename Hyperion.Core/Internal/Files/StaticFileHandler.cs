using System.Globalization;
using Hyperion.Internal.Http;

namespace Hyperion.Internal.Files;

/// <summary>
/// Serves the files below one root (<see cref="HyperionServer.MapFiles(string, string, StaticFileOptions)"/>):
/// path rules, lookup, validators, preconditions (RFC 9110 §13.2.2 order) and single byte ranges (§14), with the
/// opened descriptor as the body so the transports send it with sendfile(2).
/// </summary>
/// <remarks>
/// Refusals are consistent: 400 for a path that is not a clean relative path (<see cref="RequestPathRules"/>), 404 for
/// a clean path that names nothing servable (missing, hidden, a device or fifo, a link out of the root, a directory
/// without an index). Neither says whether anything exists outside the root.
/// </remarks>
internal sealed class StaticFileHandler
{
    private readonly FileLookup _lookup;
    private readonly Infrastructure.ServerLog _log;
    private readonly Dictionary<string, string> _contentTypes;
    private readonly string _defaultContentType;
    private readonly string? _indexFile;
    private readonly bool _serveHidden;
    private readonly string? _cacheControl;

    public StaticFileHandler(string root, StaticFileOptions options, Infrastructure.ServerLog log)
    {
        _log = log;
        _lookup = new FileLookup(root, options.AllowSymlinksOutsideRoot);
        _contentTypes = new Dictionary<string, string>(options.ContentTypes, StringComparer.OrdinalIgnoreCase);
        _defaultContentType = options.DefaultContentType ?? throw new ArgumentException("DefaultContentType is required.", nameof(options));
        _indexFile = options.IndexFile;
        if (_indexFile is not null && (_indexFile.Length == 0 || _indexFile.Contains('/') || _indexFile.Contains('\\') || _indexFile is "." or ".."))
        {
            throw new ArgumentException("IndexFile is a file name without a directory.", nameof(options));
        }

        _serveHidden = options.ServeHiddenFiles;
        _cacheControl = options.CacheControl;
        foreach (var value in _contentTypes.Values.Append(_defaultContentType).Append(_cacheControl ?? "x"))
        {
            // Written into response headers: refuse now what would make every file response a 500.
            if (string.IsNullOrWhiteSpace(value) || !HeaderValidation.IsValidValue(value))
            {
                throw new ArgumentException($"'{value?.ReplaceLineEndings(" ")}' is not a valid content type or Cache-Control value.", nameof(options));
            }
        }
    }

    /// <summary>
    /// Answers <paramref name="env"/> for the raw path below the mount point: empty (the mount point itself) or
    /// starting with '/', still percent-encoded.
    /// </summary>
    public RackResponse Serve(RackEnv env, string rawRelative)
    {
        // Registered for GET (HEAD falls back to it); the router answers other methods with 405 + Allow.
        bool head = env.Method == "HEAD";

        var kind = RequestPathRules.Parse(rawRelative, _serveHidden, out string relative, out bool trailingSlash);
        if (kind == RequestPathKind.Malformed)
        {
            _log.StaticPathRefused(env.RemoteAddress, env.Path);
            return RackResponse.Text(400, "Bad Request: not a clean file path\n");
        }

        if (kind == RequestPathKind.Hidden)
        {
            return NotFound();
        }

        switch (_lookup.Find(relative, out var file))
        {
            case LookupKind.File when !trailingSlash:
                return Respond(env, head, file, Path.GetExtension(relative));
            case LookupKind.File:
                file.Handle.Dispose();
                return NotFound();
            case LookupKind.Directory when _indexFile is not null:
                string index = relative.Length == 0 ? _indexFile : relative + "/" + _indexFile;
                if (_lookup.Find(index, out var indexFile) != LookupKind.File)
                {
                    return NotFound();
                }

                if (!trailingSlash)
                {
                    // As ASP.NET Core's default files: a directory is named with its slash, so relative links in its
                    // index resolve against it (RFC 3986 §5.2); redirect rather than serve under two URLs.
                    indexFile.Handle.Dispose();
                    var query = env.QueryString;
                    return RackResponse.Empty(301, [("Location", query.Length == 0 ? env.Path + "/" : env.Path + "/?" + query)]);
                }

                return Respond(env, head, indexFile, Path.GetExtension(_indexFile));
            default:
                return NotFound();
        }
    }

    private static RackResponse NotFound() => RackResponse.Text(404, "Not Found\n");

    private RackResponse Respond(RackEnv env, bool head, OpenedFile file, string extension)
    {
        var handle = file.Handle;
        try
        {
            return Evaluate(env, head, file, extension, ref handle);
        }
        finally
        {
            // Null when the response owns the descriptor.
            handle?.Dispose();
        }
    }

    private RackResponse Evaluate(RackEnv env, bool head, OpenedFile file, string extension, ref Microsoft.Win32.SafeHandles.SafeFileHandle? handle)
    {
        // A strong validator (RFC 9110 §8.8.1): size and the nanosecond modification time of the descriptor whose bytes
        // are sent. Strong, so If-Range can use it (§13.1.5 allows only strong tags); no inode, so replicas behind a
        // load balancer that deployed the same files give the same tag.
        long mtimeNs = (file.MtimeSeconds * 1_000_000_000L) + file.MtimeNanoseconds;
        string etag = "\"" + file.Size.ToString("x", CultureInfo.InvariantCulture) + "-" + mtimeNs.ToString("x", CultureInfo.InvariantCulture) + "\"";
        var lastModified = DateTimeOffset.FromUnixTimeSeconds(file.MtimeSeconds);
        string lastModifiedText = EntityTags.FormatDate(lastModified);
        var headers = env.Headers;

        // RFC 9110 §13.2.2: If-Match, else If-Unmodified-Since; then If-None-Match, else If-Modified-Since; then If-Range.
        if (headers.Get("If-Match") is { } ifMatch)
        {
            if (!EntityTags.ListMatches(ifMatch, etag, strong: true))
            {
                return RackResponse.Empty(412);
            }
        }
        else if (EntityTags.TryParseDate(headers.Get("If-Unmodified-Since"), out var unmodifiedSince) && lastModified > unmodifiedSince)
        {
            return RackResponse.Empty(412);
        }

        if (headers.Get("If-None-Match") is { } ifNoneMatch)
        {
            if (EntityTags.ListMatches(ifNoneMatch, etag, strong: false))
            {
                return NotModified(etag, lastModifiedText);
            }
        }
        else if (EntityTags.TryParseDate(headers.Get("If-Modified-Since"), out var modifiedSince) && lastModified <= modifiedSince)
        {
            return NotModified(etag, lastModifiedText);
        }

        string contentType = _contentTypes.TryGetValue(extension, out var known) ? known : _defaultContentType;
        int status = 200;
        long offset = 0;
        long length = file.Size;
        string? contentRange = null;

        // §14.2: Range is defined for GET only; HEAD answers as the full GET would.
        if (!head && headers.Get("Range") is { } range && IfRangeHolds(headers.Get("If-Range"), etag, lastModified))
        {
            switch (ByteRange.Evaluate(range, file.Size, out offset, out length))
            {
                case RangeOutcome.Partial:
                    status = 206;
                    contentRange = string.Create(CultureInfo.InvariantCulture, $"bytes {offset}-{offset + length - 1}/{file.Size}");
                    break;
                case RangeOutcome.Unsatisfiable:
                    return RackResponse.Empty(416, [("Content-Range", string.Create(CultureInfo.InvariantCulture, $"bytes */{file.Size}")), ("Accept-Ranges", "bytes")]);
                default:
                    offset = 0;
                    length = file.Size;
                    break;
            }
        }

        var list = new List<(string Name, string Value)>(5)
        {
            ("Accept-Ranges", "bytes"),
            ("ETag", etag),
            ("Last-Modified", lastModifiedText),
        };
        if (contentRange is not null)
        {
            list.Add(("Content-Range", contentRange));
        }

        if (_cacheControl is not null)
        {
            list.Add(("Cache-Control", _cacheControl));
        }

        var body = new FileBody(handle!, offset, length);
        handle = null;
        return RackResponse.OpenedFile(status, list, contentType, body);
    }

    private RackResponse NotModified(string etag, string lastModified)
    {
        // §15.4.5: a 304 carries the validators the 200 would have.
        return RackResponse.Empty(304, _cacheControl is null
            ? [("ETag", etag), ("Last-Modified", lastModified)]
            : [("ETag", etag), ("Last-Modified", lastModified), ("Cache-Control", _cacheControl)]);
    }

    /// <summary>
    /// RFC 9110 §13.1.5: without If-Range the range applies; with an entity-tag it applies only if it is our strong
    /// tag; with a date only if it is exactly our Last-Modified. Anything else sends the whole file (200).
    /// </summary>
    private static bool IfRangeHolds(string? ifRange, string etag, DateTimeOffset lastModified)
    {
        if (ifRange is null)
        {
            return true;
        }

        var value = ifRange.Trim();
        if (value.StartsWith('"') || value.StartsWith("W/", StringComparison.Ordinal))
        {
            return value == etag;
        }

        return EntityTags.TryParseDate(value, out var date) && date == lastModified;
    }
}
