using System.Buffers;
using Hyperion.Internal.Routing;

namespace Hyperion.Internal.Dispatch;

/// <summary>
/// The dispatch core shared by HTTP/1.1 and HTTP/2: route lookup, request-start hooks and invoking the
/// route kind or the app. Each protocol keeps its own framing and writes what this returns.
/// </summary>
internal static class RequestDispatcher
{
    /// <summary>Finds the route for the env's method and path (<paramref name="asteriskForm"/>: <c>OPTIONS *</c>) and runs the start hooks.</summary>
    public static RouteEntry? Begin(HyperionServer server, RackEnv env, bool asteriskForm, out PathRoutes? routes)
    {
        var hooks = server.Hooks;
        if (hooks.HasStart)
        {
            hooks.RunStart(env, server.Log);
        }

        if (asteriskForm)
        {
            routes = server.Routes.Find("*");
            return routes?.Find(env.Method);
        }

        // Exact paths first (one hash lookup on the raw bytes), then the method's templates.
        var entry = server.Routes.Find(env.Method, env.HeadBuffer, env.PathStart, env.PathLength, env.RouteValues, out routes);
        if (routes is not null && env.PathLength > 0)
        {
            // routes.Path equals the raw path (an exact path, or the path itself when only templates matched).
            env.SetKnownPath(routes.Path);
        }

        return entry;
    }

    /// <summary>
    /// Invokes a non-static route, the app, or answers 404/405/<c>OPTIONS *</c>. Synchronous routes complete
    /// inline; the returned task is pending only when the route or app awaits.
    /// </summary>
    public static ValueTask<RackResponse> InvokeAsync(HyperionServer server, RackEnv env, RouteEntry? entry, PathRoutes? routes, bool asteriskForm)
    {
        if (server.Pipeline.Composed is { } pipeline)
        {
            env.SetMatch(entry, routes, asteriskForm);
            return pipeline(env);
        }

        return InvokeRoute(server, env, entry, routes, asteriskForm);
    }

    /// <summary>
    /// The innermost handler of the middleware chain: the match found before the chain ran, or, when a middleware
    /// changed the method or path, the route the changed request matches now.
    /// </summary>
    public static ValueTask<RackResponse> InvokeMatched(HyperionServer server, RackEnv env)
    {
        var entry = env.MatchedEntry;
        var routes = env.MatchedRoutes;
        bool asteriskForm = env.MatchedAsterisk;
        if (env.MatchChanged)
        {
            asteriskForm = env.Path == "*";
            entry = server.Routes.Find(env.Method, env.Path, env.RouteValues, out routes);
        }

        if (entry is { Kind: RouteKind.Static })
        {
            return new ValueTask<RackResponse>(entry.Static!.Response);
        }

        return InvokeRoute(server, env, entry, routes, asteriskForm);
    }

    private static ValueTask<RackResponse> InvokeRoute(HyperionServer server, RackEnv env, RouteEntry? entry, PathRoutes? routes, bool asteriskForm)
    {
        if (entry is not null)
        {
            switch (entry.Kind)
            {
                case RouteKind.Dynamic when entry.Sync is not null:
                    return new ValueTask<RackResponse>(entry.Sync(env));
                case RouteKind.Dynamic:
                    return entry.Async!(env);
                case RouteKind.Legacy:
                    return InvokeLegacyAsync(env, entry.Legacy!);
            }
        }

        if (asteriskForm)
        {
            // OPTIONS * asks about the server as a whole (RFC 9110 §9.3.7); an app may answer it itself.
            return server.App is { } asteriskApp
                ? asteriskApp(env)
                : new ValueTask<RackResponse>(RackResponse.Empty(200, [("Allow", server.Routes.AllMethods())]));
        }

        // A path some route matches, but not for this method, is 405 even with an app (RFC 9110 §15.5.6):
        // the app sees only paths no route matches.
        if (routes is not null)
        {
            return new ValueTask<RackResponse>(RackResponse.Empty(405, [("Allow", routes.Allow)]));
        }

        if (server.App is { } app)
        {
            return app(env);
        }

        return new ValueTask<RackResponse>(RackResponse.Empty(404));
    }

    /// <summary>Runs the end hooks (response null when the request failed).</summary>
    public static void End(HyperionServer server, RackEnv env, RackResponse response, Exception? error)
    {
        var hooks = server.Hooks;
        if (hooks.HasEnd)
        {
            hooks.RunEnd(env, error is null ? response : (RackResponse?)null, error, server.Log);
        }
    }

    /// <summary>Legacy handlers get the whole body up front, read through rack.input whatever the protocol.</summary>
    private static async ValueTask<RackResponse> InvokeLegacyAsync(RackEnv env, IRequestHandler handler)
    {
        byte[] body = await ReadWholeBodyAsync(env).ConfigureAwait(false);
        var headers = new (string Name, string Value)[env.Headers.Count];
        for (int i = 0; i < headers.Length; i++)
        {
            headers[i] = env.Headers[i];
        }

        var request = new Request(env.Method, env.Path, env.QueryString, env.Protocol, headers, body, env.RemoteEndPoint);
        return await handler.HandleAsync(request).ConfigureAwait(false);
    }

    private static async ValueTask<byte[]> ReadWholeBodyAsync(RackEnv env)
    {
        var input = env.Body;
        if (env.ContentLength is long length and <= int.MaxValue)
        {
            var body = length == 0 ? [] : new byte[length];
            int offset = 0;
            while (offset < body.Length)
            {
                int n = await input.ReadAsync(body.AsMemory(offset)).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new IOException("The request body ended before its Content-Length.");
                }

                offset += n;
            }

            return body;
        }

        var writer = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            int n = await input.ReadAsync(writer.GetMemory(4096)).ConfigureAwait(false);
            if (n == 0)
            {
                return writer.WrittenSpan.ToArray();
            }

            writer.Advance(n);
        }
    }
}
