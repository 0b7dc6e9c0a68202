using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Hyperion.Internal.Http1;
using Hyperion.Internal.Http;

namespace Hyperion;

/// <summary>
/// One request as the app sees it: typed members plus the Rack-key view (<c>env["PATH_INFO"]</c>,
/// <c>env["HTTP_X_FOO"]</c>, <c>env["rack.input"]</c>, app-defined keys) over the same state.
/// </summary>
/// <remarks>
/// Envs are pooled and reset between requests: an env is valid only until the response has been
/// returned (and, for streaming bodies, written). Do not keep one after that.
/// </remarks>
public sealed class RackEnv
{
    private static readonly string[] StandardKeys =
    [
        "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_NAME", "SERVER_PORT",
        "SERVER_PROTOCOL", "REMOTE_ADDR", "rack.input", "rack.url_scheme",
    ];

    private byte[] _head = new byte[1024];
    private int _pathStart;
    private int _pathLength;
    private int _queryStart = -1;
    private int _queryLength;
    private int _authorityStart = -1;
    private int _authorityLength;
    private string? _path;
    private string? _query;
    private string? _scriptName;
    private string? _serverName;
    private int _serverPort = -1;
    private string? _remoteAddress;
    private Dictionary<string, object?>? _items;
    private string _method = "GET";
    private bool _matchChanged;
    private Internal.Routing.RouteEntry? _matchedEntry;
    private Internal.Routing.PathRoutes? _matchedRoutes;
    private bool _matchedAsterisk;
    private QueryValues? _queryValues;
    private bool _queryParsed;
    private Internal.Http.IRequestLifetime? _lifetime;
    private long? _maxRequestBodySize;
    private bool _bodyReadStarted;

    internal RackEnv()
    {
        Body = new RequestBodyStream(this);
    }

    /// <summary>The request method, e.g. <c>GET</c>.</summary>
    public string Method
    {
        get => _method;
        set
        {
            _method = value ?? throw new ArgumentNullException(nameof(value));
            _matchChanged = true;
        }
    }

    /// <summary>The path part of the request target as received (not percent-decoded), e.g. <c>/a/b</c>; <c>*</c> for <c>OPTIONS *</c>.</summary>
    public string Path
    {
        get => _path ??= _pathLength == 0 ? string.Empty : Encoding.ASCII.GetString(_head, _pathStart, _pathLength);
        set
        {
            _path = value ?? throw new ArgumentNullException(nameof(value));
            _matchChanged = true;
        }
    }

    /// <summary>
    /// The values the matched route template captured (<c>/todos/{id}</c>: <c>env.RouteValues["id"]</c>,
    /// <c>env.RouteValues.GetInt32("id")</c>); empty for exact paths and the app.
    /// </summary>
    public RouteValues RouteValues { get; } = new();

    /// <summary>The query after <c>?</c>, without the <c>?</c>; empty when none.</summary>
    public string QueryString
    {
        get => _query ??= _queryStart < 0 ? string.Empty : Encoding.ASCII.GetString(_head, _queryStart, _queryLength);
        set
        {
            _query = value ?? throw new ArgumentNullException(nameof(value));
            _queryParsed = false;
        }
    }

    /// <summary>
    /// <see cref="QueryString"/> parsed as form-urlencoded pairs (repeated names keep every value; see
    /// <see cref="QueryValues"/>). Parsed on first use; setting <see cref="QueryString"/> parses again.
    /// </summary>
    public QueryValues Query
    {
        get
        {
            var values = _queryValues ??= new QueryValues();
            if (!_queryParsed)
            {
                values.Parse(QueryString);
                _queryParsed = true;
            }

            return values;
        }
    }

    /// <summary>
    /// Cancelled when the client goes away while the request runs: on HTTP/1.1 the connection is closed or reset
    /// (noticed once the request body has been read), on HTTP/2 the stream is reset or the connection ends. Costs
    /// nothing until read.
    /// </summary>
    public CancellationToken RequestAborted => _lifetime?.RequestAborted ?? CancellationToken.None;

    /// <summary>
    /// The largest request body this request may have, in bytes; null for no limit. Starts as
    /// <see cref="HyperionOptions.MaxRequestBodySize"/>; a middleware or the handler may change it before the body is
    /// first read (afterwards setting it throws). A declared Content-Length over it fails the first read with 413
    /// before a byte of the body is read (and before <c>100 Continue</c> is sent); a chunked (HTTP/2: undeclared)
    /// body fails with 413 once it grows past it. A handler that never reads the body answers as it likes; HTTP/1.1
    /// then closes the connection rather than drain a body over the limit.
    /// </summary>
    public long? MaxRequestBodySize
    {
        get => _maxRequestBodySize;
        set
        {
            if (_bodyReadStarted)
            {
                throw new InvalidOperationException("MaxRequestBodySize can only change before the request body is first read.");
            }

            if (value is < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "A body size limit is not negative.");
            }

            _maxRequestBodySize = value;
        }
    }

    /// <summary>True once rack.input was first read: the body limit is fixed from then on.</summary>
    internal bool BodyReadStarted => Volatile.Read(ref _bodyReadStarted);

    /// <summary>Called by rack.input before its first read: fixes the limit and refuses a declared length over it.</summary>
    internal void StartBodyRead()
    {
        Volatile.Write(ref _bodyReadStarted, true);
        if (ContentLength is long declared && _maxRequestBodySize is long max && declared > max)
        {
            // Refused before a byte of the body is read; with Expect: 100-continue the client never sends it.
            throw new Internal.Http.BadRequestException(Internal.Http.RejectionReason.BodyTooLarge);
        }
    }

    /// <summary>Each request starts from the server's limit (set by the dispatcher when the request begins).</summary>
    internal void InitBodyLimit(long? max)
    {
        _maxRequestBodySize = max;
        _bodyReadStarted = false;
    }

    /// <summary>
    /// Reads the body as JSON into a <typeparamref name="T"/> with a source-generated <paramref name="typeInfo"/>
    /// (<c>MyJsonContext.Default.Todo</c>; no reflection, so it is trimming- and AOT-safe). The Content-Type must be
    /// <c>application/json</c> or a <c>+json</c> type, else <see cref="HttpStatusException"/> 415; a body that is not
    /// valid JSON for <typeparamref name="T"/> gives <see cref="HttpStatusException"/> 400. Left unhandled, either
    /// answers the client with that status and a short text body.
    /// </summary>
    public async ValueTask<T?> ReadJsonAsync<T>(JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        if (!IsJsonMediaType(ContentType))
        {
            throw new HttpStatusException(415, "Unsupported Media Type: expected application/json.");
        }

        try
        {
            return await JsonSerializer.DeserializeAsync(Body, typeInfo, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            throw new HttpStatusException(400, "Bad Request: the body is not valid JSON for this resource.", ex);
        }
    }

    /// <summary>RFC 8259 §11 and RFC 6839 §3.1: <c>application/json</c> or any <c>type/subtype+json</c>, parameters ignored.</summary>
    internal static bool IsJsonMediaType(string? contentType)
    {
        if (contentType is null)
        {
            return false;
        }

        var media = contentType.AsSpan();
        int semicolon = media.IndexOf(';');
        if (semicolon >= 0)
        {
            media = media[..semicolon];
        }

        media = media.Trim();
        return media.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (media.EndsWith("+json", StringComparison.OrdinalIgnoreCase) && media.IndexOf('/') > 0);
    }

    /// <summary>Rack's SCRIPT_NAME: the mount point of the app; empty unless middleware sets it.</summary>
    public string ScriptName
    {
        get => _scriptName ?? string.Empty;
        set => _scriptName = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>The protocol version, <c>HTTP/1.1</c>, <c>HTTP/1.0</c> or <c>HTTP/2</c>.</summary>
    public string Protocol { get; internal set; } = "HTTP/1.1";

    /// <summary><c>http</c> or <c>https</c>.</summary>
    public string Scheme { get; internal set; } = "http";

    /// <summary>The host the client asked for (Host header or absolute-form authority), without the port.</summary>
    public string ServerName
    {
        get
        {
            if (_serverName is null)
            {
                SplitAuthority();
            }

            return _serverName!;
        }
    }

    /// <summary>The port the client asked for, or the listener's port when the Host header names none.</summary>
    public int ServerPort
    {
        get
        {
            if (_serverName is null)
            {
                SplitAuthority();
            }

            return _serverPort;
        }
    }

    /// <summary>The client's address and port; null for the in-process client.</summary>
    public IPEndPoint? RemoteEndPoint { get; internal set; }

    /// <summary>
    /// The certificate the client presented in the TLS handshake, when <see cref="HyperionOptions.ClientCertificateMode"/>
    /// asks for one; null otherwise (and on cleartext listeners).
    /// </summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? ClientCertificate { get; internal set; }

    /// <summary>The client's address as text (REMOTE_ADDR).</summary>
    public string RemoteAddress => _remoteAddress ??= RemoteEndPoint?.Address.ToString() ?? "127.0.0.1";

    /// <summary>The request header fields in arrival order.</summary>
    public RequestHeaders Headers { get; } = new();

    /// <summary>The request's declared Content-Length; null when absent (no body, or chunked).</summary>
    public long? ContentLength { get; internal set; }

    /// <summary>The Content-Type header, or null.</summary>
    public string? ContentType => Headers.Get("Content-Type");

    /// <summary>
    /// The request body (rack.input). Reads return bytes as they arrive from the client; chunked
    /// bodies are decoded. Reading past the body returns 0.
    /// </summary>
    public Stream Body { get; }

    internal RequestBodyStream BodyStream => (RequestBodyStream)Body;

    internal int LocalPort { get; set; }

    /// <summary>
    /// The Rack-key view. Reads REQUEST_METHOD, SCRIPT_NAME, PATH_INFO, QUERY_STRING, SERVER_NAME,
    /// SERVER_PORT, SERVER_PROTOCOL, REMOTE_ADDR, CONTENT_TYPE, CONTENT_LENGTH, HTTP_* (one per header
    /// name; fields whose names contain '_' are left out, since they would alias '-' names),
    /// rack.input, rack.url_scheme, HTTPS (<c>on</c> over TLS, absent otherwise) and any app-defined key. Setting REQUEST_METHOD, SCRIPT_NAME,
    /// PATH_INFO or QUERY_STRING changes the typed member; other server keys are read-only;
    /// any other key is stored for the app.
    /// </summary>
    public object? this[string key]
    {
        get
        {
            if (_items is not null && _items.TryGetValue(key, out var v))
            {
                return v;
            }

            return GetStandard(key);
        }
        set
        {
            switch (key)
            {
                case "REQUEST_METHOD": Method = (string)value!; return;
                case "SCRIPT_NAME": ScriptName = (string)value!; return;
                case "PATH_INFO": Path = (string)value!; return;
                case "QUERY_STRING": QueryString = (string)value!; return;
            }

            if (IsServerKey(key))
            {
                throw new InvalidOperationException($"'{key}' is set by the server and is read-only.");
            }

            (_items ??= new Dictionary<string, object?>(StringComparer.Ordinal))[key] = value;
        }
    }

    /// <summary>Whether <paramref name="key"/> is present in the Rack-key view.</summary>
    public bool ContainsKey(string key) => (_items?.ContainsKey(key) ?? false) || GetStandard(key) is not null;

    /// <summary>Every key present in the Rack-key view.</summary>
    public IEnumerable<string> Keys
    {
        get
        {
            foreach (var k in StandardKeys)
            {
                yield return k;
            }

            if (GetStandard("HTTPS") is not null)
            {
                yield return "HTTPS";
            }

            if (ContentType is not null)
            {
                yield return "CONTENT_TYPE";
            }

            if (Headers.Contains("Content-Length"))
            {
                yield return "CONTENT_LENGTH";
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < Headers.Count; i++)
            {
                var name = Headers.NameAt(i);
                if (ToRackHeaderKey(name) is { } rackKey && seen.Add(rackKey))
                {
                    yield return rackKey;
                }
            }

            if (_items is not null)
            {
                foreach (var k in _items.Keys)
                {
                    yield return k;
                }
            }
        }
    }

    private static bool IsServerKey(string key) =>
        key.StartsWith("HTTP_", StringComparison.Ordinal) || key is "SERVER_NAME" or "SERVER_PORT" or "SERVER_PROTOCOL"
            or "REMOTE_ADDR" or "rack.input" or "rack.url_scheme" or "HTTPS" or "CONTENT_TYPE" or "CONTENT_LENGTH";

    private static string? ToRackHeaderKey(string name)
    {
        if (name.Contains('_', StringComparison.Ordinal) ||
            name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase) ||
            name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return string.Create(5 + name.Length, name, static (span, n) =>
        {
            "HTTP_".CopyTo(span);
            for (int i = 0; i < n.Length; i++)
            {
                char c = n[i];
                span[5 + i] = c == '-' ? '_' : char.ToUpperInvariant(c);
            }
        });
    }

    private object? GetStandard(string key)
    {
        switch (key)
        {
            case "REQUEST_METHOD": return Method;
            case "SCRIPT_NAME": return ScriptName;
            case "PATH_INFO": return Path;
            case "QUERY_STRING": return QueryString;
            case "SERVER_NAME": return ServerName;
            case "SERVER_PORT": return ServerPort.ToString(CultureInfo.InvariantCulture);
            case "SERVER_PROTOCOL": return Protocol;
            case "REMOTE_ADDR": return RemoteAddress;
            case "rack.input": return Body;
            case "rack.url_scheme": return Scheme;
            case "HTTPS": return Scheme == "https" ? "on" : null;
            case "CONTENT_TYPE": return ContentType;
            case "CONTENT_LENGTH": return Headers.Get("Content-Length");
        }

        if (key.Length > 5 && key.StartsWith("HTTP_", StringComparison.Ordinal) && key is not ("HTTP_CONTENT_TYPE" or "HTTP_CONTENT_LENGTH"))
        {
            return GetHeaderByRackKey(key.AsSpan(5));
        }

        return null;
    }

    private string? GetHeaderByRackKey(ReadOnlySpan<char> suffix)
    {
        string? result = null;
        for (int i = 0; i < Headers.Count; i++)
        {
            if (MatchesRackSuffix(Headers.NameBytes(i), suffix))
            {
                result = result is null ? Headers.ValueAt(i) : string.Concat(result, ", ", Headers.ValueAt(i));
            }
        }

        return result;
    }

    private static bool MatchesRackSuffix(ReadOnlySpan<byte> name, ReadOnlySpan<char> suffix)
    {
        if (name.Length != suffix.Length)
        {
            return false;
        }

        for (int i = 0; i < name.Length; i++)
        {
            byte b = name[i];
            char c = suffix[i];
            if (b == (byte)'_')
            {
                return false;
            }

            char expected = b == (byte)'-' ? '_' : (char)(b is >= (byte)'a' and <= (byte)'z' ? b - 32 : b);
            if (expected != c)
            {
                return false;
            }
        }

        return true;
    }

    private void SplitAuthority()
    {
        ReadOnlySpan<byte> authority = default;
        if (_authorityStart >= 0)
        {
            authority = _head.AsSpan(_authorityStart, _authorityLength);
        }
        else
        {
            int host = Headers.IndexOf("Host"u8, 0);
            if (host >= 0)
            {
                authority = Headers.ValueBytes(host);
            }
        }

        int port = LocalPort;
        ReadOnlySpan<byte> name = authority;
        if (HostValidation.TrySplitPort(authority, out var hostPart, out int parsedPort))
        {
            name = hostPart;
            if (parsedPort >= 0)
            {
                port = parsedPort;
            }
        }

        _serverName = name.IsEmpty ? "localhost" : Encoding.ASCII.GetString(name);
        _serverPort = port;
    }

    // ---- state management used by the connection ----

    internal byte[] HeadBuffer => _head;

    internal void CopyHead(ReadOnlySpan<byte> head)
    {
        if (_head.Length < head.Length)
        {
            _head = new byte[Math.Max(head.Length, _head.Length * 2)];
        }

        head.CopyTo(_head);
        Headers.SetSource(_head);
    }

    internal void SetTarget(int pathStart, int pathLength, int queryStart, int queryLength)
    {
        _pathStart = pathStart;
        _pathLength = pathLength;
        _queryStart = queryStart;
        _queryLength = queryLength;
    }

    internal void SetAuthority(int start, int length)
    {
        _authorityStart = start;
        _authorityLength = length;
    }

    internal bool AuthorityIn(ReadOnlySpan<byte> data, out ReadOnlySpan<byte> authority)
    {
        authority = _authorityStart >= 0 ? data.Slice(_authorityStart, _authorityLength) : default;
        return _authorityStart >= 0;
    }

    internal ReadOnlySpan<byte> PathBytes => _head.AsSpan(_pathStart, _pathLength);

    internal int PathStart => _pathStart;

    internal int PathLength => _pathLength;

    /// <summary>Sets the path string without decoding, when the route table already holds an equal string.</summary>
    internal void SetKnownPath(string path) => _path = path;

    /// <summary>The route matched before middleware ran; a middleware that sets Method or Path makes it stale.</summary>
    internal Internal.Routing.RouteEntry? MatchedEntry => _matchedEntry;

    internal Internal.Routing.PathRoutes? MatchedRoutes => _matchedRoutes;

    internal bool MatchedAsterisk => _matchedAsterisk;

    internal bool MatchChanged => _matchChanged;

    internal void SetMatch(Internal.Routing.RouteEntry? entry, Internal.Routing.PathRoutes? routes, bool asteriskForm)
    {
        _matchedEntry = entry;
        _matchedRoutes = routes;
        _matchedAsterisk = asteriskForm;
        _matchChanged = false;
    }

    /// <summary>The protocol side of <see cref="RequestAborted"/>: set while the request runs.</summary>
    internal void SetLifetime(Internal.Http.IRequestLifetime? lifetime) => _lifetime = lifetime;

    /// <summary>The protocol side of this request (HTTP/2: its stream), for layers above that act on it (gRPC resets).</summary>
    internal Internal.Http.IRequestLifetime? Lifetime => _lifetime;

    internal void Reset()
    {
        _queryValues?.Clear();
        _queryParsed = false;
        _lifetime = null;
        _maxRequestBodySize = null;
        _bodyReadStarted = false;
        _method = "GET";
        _matchChanged = false;
        _matchedEntry = null;
        _matchedRoutes = null;
        _matchedAsterisk = false;
        _path = null;
        _query = null;
        _scriptName = null;
        _serverName = null;
        _serverPort = -1;
        _remoteAddress = null;
        _pathStart = _pathLength = _queryLength = 0;
        _queryStart = -1;
        _authorityStart = -1;
        _authorityLength = 0;
        Protocol = "HTTP/1.1";
        Scheme = "http";
        RemoteEndPoint = null;
        ClientCertificate = null;
        ContentLength = null;
        LocalPort = 0;
        Headers.Clear();
        BodyStream.Detach();
        _items?.Clear();
        RouteValues.Clear();
    }
}
