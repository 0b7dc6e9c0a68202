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
        // The body limit is checked when the body is first read, so the start hooks, middleware or the route can raise it.
        env.InitBodyLimit(server.Options.MaxRequestBodySize);
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
    /// Invokes a non-static route, the app, or answers 404/405/<c>OPTIONS *</c>, with the middleware around it. The
    /// one place the dispatch mode is applied, for HTTP/1.1, HTTP/2 and the in-process client alike: the matched
    /// route's (or the app's) mode decides where the whole chain runs. Inline, synchronous routes complete here and
    /// the call is timed for the loop watchdog; on the thread pool (the mode, the watchdog's switch, or a body not
    /// yet fully received) the returned task is pending, as for a route that awaits, and the connection writes the
    /// response when it completes.
    /// </summary>
    public static ValueTask<RackResponse> InvokeAsync(HyperionServer server, RackEnv env, RouteEntry? entry, PathRoutes? routes, bool asteriskForm)
    {
        var pipeline = server.Pipeline.Composed;
        if (pipeline is not null)
        {
            env.SetMatch(entry, routes, asteriskForm);
        }

        var target = entry is not null ? entry.Dispatch : server.App is not null ? server.AppDispatch : pipeline is not null ? server.UnmatchedDispatch : null;
        env.DispatchTarget = target;
        if (target is null)
        {
            // The server's own 404, 405 and OPTIONS * answers: nothing of the user's runs.
            return InvokeRoute(server, env, entry, routes, asteriskForm);
        }

        // A synchronous read of rack.input that must wait cannot wait on the loop that delivers the body, so a
        // request whose body is not all here yet runs on the pool, where such reads block (the same on every transport);
        // unless its route reads only asynchronously.
        if (target.RunsOnThreadPool(server.Options.DefaultDispatch) || (!env.BodyStream.IsFullyBuffered && !target.ReadsBodyAsynchronously))
        {
            return OnThreadPoolAsync(server, env, entry, routes, asteriskForm);
        }

        var watchdog = server.Watchdog;
        var slot = Transport.Loops.TransportLoop.CurrentSlot;
        long start = 0;
        if (watchdog.Enabled)
        {
            start = watchdog.Begin(slot);
            slot?.Enter(target, start);
        }

        t_inline = true;
        try
        {
            return Invoke(server, env, entry, routes, asteriskForm);
        }
        finally
        {
            t_inline = false;
            if (watchdog.Enabled)
            {
                slot?.Exit();
                watchdog.Returned(target, start, slot);
            }
        }
    }

    /// <summary>
    /// A streaming body's callback is the route's code too (a gRPC handler runs in one). On a loop thread it runs where
    /// the route runs: on the pool for a pool route, else inline with its synchronous part timed for the watchdog as the
    /// route's (with its own first-call allowance), so a callback that blocks is reported and moves the route, body
    /// included, to the pool. Off the loops it runs as is.
    /// </summary>
    public static ValueTask InvokeBodyAsync(HyperionServer server, RackEnv env, Func<ResponseBodyWriter, ValueTask> body, ResponseBodyWriter writer)
        => InvokeBodyAsync(server, env, static s => s.Body(s.Writer), (Body: body, Writer: writer));

    /// <summary>
    /// The same rule for any of the route's code that runs while its response is written (a streaming callback, the
    /// serialization of a JSON body): <paramref name="body"/> gets <paramref name="state"/>.
    /// </summary>
    public static ValueTask InvokeBodyAsync<TState>(HyperionServer server, RackEnv env, Func<TState, ValueTask> body, TState state)
    {
        var target = env.DispatchTarget;
        var watchdog = server.Watchdog;
        var slot = Transport.Loops.TransportLoop.CurrentSlot;
        if (target is null || slot is null)
        {
            return body(state);
        }

        if (target.RunsOnThreadPool(server.Options.DefaultDispatch))
        {
            // A pool route whose connection resumed on its loop to write the response: this is the route's code, so it
            // runs on the pool too.
            return BodyOnThreadPoolAsync(body, state);
        }

        return watchdog.Enabled ? TimedBody(watchdog, slot, target, body, state) : body(state);
    }

    /// <summary>The synchronous part of the route's body code on a loop thread, timed as its body (own first-call allowance).</summary>
    private static ValueTask TimedBody<TState>(LoopWatchdog watchdog, InlineCallSlot slot, DispatchTarget target, Func<TState, ValueTask> body, TState state)
    {
        long start = watchdog.Begin(slot);
        slot.Enter(target, start, streamingBody: true);
        try
        {
            return body(state);
        }
        finally
        {
            slot.Exit();
            watchdog.Returned(target, start, slot, streamingBody: true);
        }
    }

    private static async ValueTask BodyOnThreadPoolAsync<TState>(Func<TState, ValueTask> body, TState state)
    {
        await Task.Yield();
        await body(state).ConfigureAwait(false);
    }

    /// <summary>
    /// A continuation of an inline route that reads its body asynchronously (<see cref="DispatchTarget.ReadsBodyAsynchronously"/>),
    /// resumed on the loop thread by the arrival of body bytes: timed for the watchdog as the route's body code (with
    /// that allowance for its first call), so one that blocks is reported and moves the route to the pool, where its
    /// later continuations then run.
    /// </summary>
    public static void RunContinuation(HyperionServer server, DispatchTarget target, Action<object?> continuation, object? state)
    {
        var watchdog = server.Watchdog;
        var slot = Transport.Loops.TransportLoop.CurrentSlot;
        t_inline = true;
        try
        {
            if (watchdog.Enabled && slot is not null)
            {
                _ = TimedBody(watchdog, slot, target, static s =>
                {
                    s.Continuation(s.State);
                    return default;
                }, (Continuation: continuation, State: state));
            }
            else
            {
                continuation(state);
            }
        }
        finally
        {
            t_inline = false;
        }
    }

    /// <summary>True while a callback runs inline (any transport, the in-process client too): a read of rack.input here must not wait.</summary>
    public static bool InInlineCall => t_inline;

    [ThreadStatic]
    private static bool t_inline;

    private static ValueTask<RackResponse> Invoke(HyperionServer server, RackEnv env, RouteEntry? entry, PathRoutes? routes, bool asteriskForm)
        => server.Pipeline.Composed is { } pipeline ? pipeline(env) : InvokeRoute(server, env, entry, routes, asteriskForm);

    /// <summary>
    /// The chain on a pool thread; the connection awaits the pending task exactly as it awaits an async route, and
    /// continues (writes the response) where it completes. The pooled builder keeps this allocation-free in steady state.
    /// </summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<RackResponse> OnThreadPoolAsync(HyperionServer server, RackEnv env, RouteEntry? entry, PathRoutes? routes, bool asteriskForm)
    {
        // No SynchronizationContext or custom TaskScheduler on the loop or connection threads: this queues to the pool.
        await Task.Yield();
        return await Invoke(server, env, entry, routes, asteriskForm).ConfigureAwait(false);
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

        if (server.UnmatchedRequestAnswer is { } unmatched && unmatched(env) is { IsDefault: false } answer)
        {
            return new ValueTask<RackResponse>(answer);
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
