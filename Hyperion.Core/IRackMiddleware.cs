namespace Hyperion;

/// <summary>
/// The class form of Rack's <c>use</c>: a middleware object that sees each request on its way to the next
/// middleware or the route, and the response on its way back. Register it with
/// <see cref="HyperionServer.Use(IRackMiddleware)"/>; one instance serves every request, concurrently.
/// </summary>
public interface IRackMiddleware
{
    /// <summary>
    /// Handles one request: call <paramref name="next"/> to pass it on (optionally after changing the env) and
    /// return its response, changed or wrapped as needed; or return a response without calling it.
    /// </summary>
    ValueTask<RackResponse> InvokeAsync(RackEnv env, RackApp next);
}
