using System.Globalization;

namespace Hyperion;

/// <summary>
/// CORS middleware: answers preflights itself (the app never sees them) and adds the CORS headers to the responses of
/// allowed origins. Register it with <see cref="HyperionServer.Use(IRackMiddleware)"/>; static routes bypass
/// middleware and get no CORS headers.
/// </summary>
/// <remarks>
/// A preflight (<c>OPTIONS</c> with <c>Origin</c> and <c>Access-Control-Request-Method</c>) gets 204: with the allow
/// headers when the origin, method and every requested header are allowed, without any CORS header otherwise (the
/// browser then fails the request). Every response whose CORS headers depend on the request's <c>Origin</c> carries
/// <c>Vary: Origin</c>, requests without one included, so a shared cache never hands one origin's answer to another.
/// </remarks>
public sealed class Cors : IRackMiddleware
{
    private readonly HashSet<string> _origins;
    private readonly bool _anyOrigin;
    private readonly HashSet<string> _methods;
    private readonly bool _anyMethod;
    private readonly string _methodsText;
    private readonly HashSet<string> _headers;
    private readonly bool _anyHeader;
    private readonly string? _exposed;
    private readonly bool _credentials;
    private readonly string? _maxAge;

    /// <summary>Creates the middleware for <paramref name="options"/>; the options are copied.</summary>
    public Cors(CorsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _origins = new HashSet<string>(options.AllowedOrigins.Where(o => o != "*").Select(o => o.TrimEnd('/')), StringComparer.OrdinalIgnoreCase);
        _anyOrigin = options.AllowedOrigins.Contains("*");
        _credentials = options.AllowCredentials;
        if (_anyOrigin && _credentials)
        {
            // Fetch §3.2.5: "*" is never valid with credentials, and echoing every origin instead would let any site
            // read the user's credentialed responses.
            throw new ArgumentException("CORS cannot allow any origin (\"*\") together with credentials; list the origins.", nameof(options));
        }

        foreach (var value in options.AllowedOrigins.Concat(options.AllowedMethods).Concat(options.AllowedHeaders).Concat(options.ExposedHeaders))
        {
            // They are written into response headers: a CR or LF would make every such response fail with 500.
            if (string.IsNullOrWhiteSpace(value) || !Internal.Http.HeaderValidation.IsValidValue(value) || value.Contains(','))
            {
                throw new ArgumentException($"'{value?.ReplaceLineEndings(" ")}' is not a valid CORS origin, method or header name.", nameof(options));
            }
        }

        _methods = new HashSet<string>(options.AllowedMethods.Where(m => m != "*"), StringComparer.Ordinal);
        _anyMethod = options.AllowedMethods.Contains("*");
        _methodsText = string.Join(", ", _methods);
        _headers = new HashSet<string>(options.AllowedHeaders.Where(h => h != "*"), StringComparer.OrdinalIgnoreCase);
        _anyHeader = options.AllowedHeaders.Contains("*");
        _exposed = options.ExposedHeaders.Count > 0 ? string.Join(", ", options.ExposedHeaders) : null;
        _maxAge = options.PreflightMaxAge is { } age ? ((long)age.TotalSeconds).ToString(CultureInfo.InvariantCulture) : null;
    }

    /// <summary>True when the allowed origin header is the same for every request ("*"), so responses need no Vary.</summary>
    private bool OriginInvariant => _anyOrigin;

    /// <inheritdoc/>
    public ValueTask<RackResponse> InvokeAsync(RackEnv env, RackApp next)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(next);
        string? origin = env.Headers.Get("Origin");
        if (origin is not null && env.Method == "OPTIONS" && env.Headers.Get("Access-Control-Request-Method") is { } requested)
        {
            return new ValueTask<RackResponse>(Preflight(origin, requested, env.Headers.Get("Access-Control-Request-Headers")));
        }

        var pending = next(env);
        if (pending.IsCompletedSuccessfully)
        {
            return new ValueTask<RackResponse>(Decorate(pending.Result, origin));
        }

        return Awaited(pending, origin);
    }

    private async ValueTask<RackResponse> Awaited(ValueTask<RackResponse> pending, string? origin)
        => Decorate(await pending.ConfigureAwait(false), origin);

    private bool Allows(string origin) => _anyOrigin || _origins.Contains(origin);

    /// <summary>The value of Access-Control-Allow-Origin: "*" without credentials and a wildcard policy, else the origin.</summary>
    private string AllowOriginValue(string origin) => _anyOrigin ? "*" : origin;

    private RackResponse Decorate(RackResponse response, string? origin)
    {
        if (origin is null || !Allows(origin))
        {
            return OriginInvariant ? response : response.WithHeader("Vary", "Origin");
        }

        var current = response.Headers;
        var headers = new List<(string Name, string Value)>(current.Count + 4);
        headers.AddRange(current);
        headers.Add(("Access-Control-Allow-Origin", AllowOriginValue(origin)));
        if (_credentials)
        {
            headers.Add(("Access-Control-Allow-Credentials", "true"));
        }

        if (_exposed is not null)
        {
            headers.Add(("Access-Control-Expose-Headers", _exposed));
        }

        if (!OriginInvariant)
        {
            headers.Add(("Vary", "Origin"));
        }

        return response.WithHeaders(headers);
    }

    private RackResponse Preflight(string origin, string method, string? requestHeaders)
    {
        // The preflight's answer depends on the origin and on what it asks for.
        var vary = ("Vary", OriginInvariant ? "Access-Control-Request-Method, Access-Control-Request-Headers" : "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
        if (!Allows(origin) || !(_anyMethod || _methods.Contains(method.Trim())) || !HeadersAllowed(requestHeaders))
        {
            return RackResponse.Empty(204, [vary]);
        }

        var headers = new List<(string Name, string Value)>(6)
        {
            ("Access-Control-Allow-Origin", AllowOriginValue(origin)),
            ("Access-Control-Allow-Methods", _anyMethod ? method.Trim() : _methodsText),
        };
        if (!string.IsNullOrWhiteSpace(requestHeaders))
        {
            headers.Add(("Access-Control-Allow-Headers", requestHeaders.Trim()));
        }

        if (_credentials)
        {
            headers.Add(("Access-Control-Allow-Credentials", "true"));
        }

        if (_maxAge is not null)
        {
            headers.Add(("Access-Control-Max-Age", _maxAge));
        }

        headers.Add(vary);
        return RackResponse.Empty(204, headers);
    }

    private bool HeadersAllowed(string? requestHeaders)
    {
        if (_anyHeader || string.IsNullOrWhiteSpace(requestHeaders))
        {
            return true;
        }

        foreach (var range in requestHeaders.AsSpan().Split(','))
        {
            var name = requestHeaders.AsSpan()[range].Trim(" \t");
            if (!name.IsEmpty && !_headers.GetAlternateLookup<ReadOnlySpan<char>>().Contains(name))
            {
                return false;
            }
        }

        return true;
    }
}
