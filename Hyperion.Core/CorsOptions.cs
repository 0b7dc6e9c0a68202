namespace Hyperion;

/// <summary>The policy a <see cref="Cors"/> middleware applies (the Fetch standard's CORS protocol).</summary>
public sealed class CorsOptions
{
    /// <summary>
    /// Origins allowed to read responses, exactly as browsers send them (<c>https://app.example</c>, compared without
    /// regard to case); <c>"*"</c> allows any origin, which is refused together with <see cref="AllowCredentials"/>.
    /// </summary>
    public ICollection<string> AllowedOrigins { get; } = new List<string>();

    /// <summary>Methods a preflight may ask for; <c>"*"</c> allows any. Default GET, HEAD, POST.</summary>
    public ICollection<string> AllowedMethods { get; } = new List<string> { "GET", "HEAD", "POST" };

    /// <summary>Request headers a preflight may ask for (case-insensitive); <c>"*"</c> allows any. None by default.</summary>
    public ICollection<string> AllowedHeaders { get; } = new List<string>();

    /// <summary>Response headers scripts may read besides the CORS-safelisted ones (<c>Access-Control-Expose-Headers</c>).</summary>
    public ICollection<string> ExposedHeaders { get; } = new List<string>();

    /// <summary>Allow requests with cookies or HTTP authentication: <c>Access-Control-Allow-Credentials: true</c>, and the origin echoed, never <c>*</c>.</summary>
    public bool AllowCredentials { get; set; }

    /// <summary>How long a browser may cache a preflight answer (<c>Access-Control-Max-Age</c>); none by default.</summary>
    public TimeSpan? PreflightMaxAge { get; set; }
}
