namespace Hyperion.Internal.Dispatch;

/// <summary>
/// The middleware registered with <c>Use</c>, composed once into one <see cref="RackApp"/> whose innermost
/// handler is the route (or app, or 404/405) the dispatcher matched. Empty: <see cref="Composed"/> stays null and
/// dispatch calls the route directly, so a server without middleware pays nothing.
/// </summary>
internal sealed class MiddlewarePipeline
{
    private readonly List<Func<RackApp, RackApp>> _middleware = [];

    public bool IsComposed { get; private set; }

    /// <summary>The whole chain; null when no middleware is registered.</summary>
    public RackApp? Composed { get; private set; }

    public void Add(Func<RackApp, RackApp> middleware) => _middleware.Add(middleware);

    /// <summary>Builds the chain (first added = outermost). Idempotent; callers hold the server's lifecycle lock.</summary>
    public void Compose(HyperionServer server)
    {
        if (IsComposed)
        {
            return;
        }

        IsComposed = true;
        if (_middleware.Count == 0)
        {
            return;
        }

        RackApp app = env => RequestDispatcher.InvokeMatched(server, env);
        for (int i = _middleware.Count - 1; i >= 0; i--)
        {
            app = _middleware[i](app) ?? throw new InvalidOperationException($"Middleware #{i + 1} returned a null handler.");
        }

        Composed = app;
    }
}
