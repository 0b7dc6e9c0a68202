using System.Runtime.CompilerServices;

namespace Hyperion;

/// <summary>
/// The design card's shape, <c>HyperionServer.Handle("GET", "/x", env => …)</c> from <c>Main</c>: static members on
/// <see cref="HyperionServer"/> (C# 14 extension members) that register on the process-wide
/// <see cref="HyperionServer.Default"/>, as Go's <c>http.HandleFunc</c> registers on <c>DefaultServeMux</c>. Each is
/// one call to the instance member of the same name: a facade, never a second code path.
/// </summary>
/// <remarks>
/// A type cannot declare a static and an instance method with the same signature; as extension members these
/// live beside the instance API, and overload resolution keeps them apart: <c>server.Handle(…)</c> (an instance
/// receiver) sees only the instance members, <c>HyperionServer.Handle(…)</c> (a type receiver) only these.
/// </remarks>
public static class DefaultServer
{
    extension(HyperionServer)
    {
        /// <summary>A dynamic-block route on the default server; see <see cref="HyperionServer.Handle(string, string, Func{RackEnv, RackResponse})"/>.</summary>
        [OverloadResolutionPriority(1)]
        public static void Handle(string method, string path, Func<RackEnv, RackResponse> handler)
            => HyperionServer.Default.Handle(method, path, handler);

        /// <summary>An asynchronous dynamic-block route on the default server.</summary>
        public static void Handle(string method, string path, Func<RackEnv, ValueTask<RackResponse>> handler)
            => HyperionServer.Default.Handle(method, path, handler);

        /// <summary>A legacy route on the default server.</summary>
        public static void Handle(string method, string path, IRequestHandler handler)
            => HyperionServer.Default.Handle(method, path, handler);

        /// <summary>A static route on the default server; see <see cref="HyperionServer.HandleStatic(string, string, string, string, int, IEnumerable{ValueTuple{string, string}}?)"/>.</summary>
        public static void HandleStatic(string method, string path, string body, string contentType = "text/plain", int status = 200, IEnumerable<(string Name, string Value)>? headers = null)
            => HyperionServer.Default.HandleStatic(method, path, body, contentType, status, headers);

        /// <summary>A static route with a byte body on the default server.</summary>
        public static void HandleStatic(string method, string path, ReadOnlyMemory<byte> body, string contentType, int status = 200, IEnumerable<(string Name, string Value)>? headers = null)
            => HyperionServer.Default.HandleStatic(method, path, body, contentType, status, headers);

        /// <summary>Sets the default server's app; see <see cref="HyperionServer.Run(RackApp)"/>.</summary>
        public static void Run(RackApp app) => HyperionServer.Default.Run(app);

        /// <summary>Adds a middleware to the default server; see <see cref="HyperionServer.Use(Func{RackApp, RackApp})"/>.</summary>
        public static void Use(Func<RackApp, RackApp> middleware) => HyperionServer.Default.Use(middleware);

        /// <summary>Adds a middleware object to the default server.</summary>
        public static void Use(IRackMiddleware middleware) => HyperionServer.Default.Use(middleware);

        /// <summary>Runs the default server until SIGINT or SIGTERM (or <paramref name="cancellationToken"/>); see <see cref="HyperionServer.RunAsync(CancellationToken)"/>.</summary>
        public static Task RunAsync(CancellationToken cancellationToken = default) => HyperionServer.Default.RunAsync(cancellationToken);
    }
}
