using System.Runtime.CompilerServices;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Hyperion.Grpc.Internal;

/// <summary>A server's gRPC state: the server-wide options, the registered services, the answer to unknown methods.</summary>
internal sealed class GrpcHost
{
    private static readonly ConditionalWeakTable<HyperionServer, GrpcHost> Hosts = [];
    private static readonly Func<ResponseBodyWriter, ValueTask> NoBody = static _ => default;

    private readonly HashSet<string> _services = new(StringComparer.Ordinal);

    private GrpcHost(HyperionServer server)
    {
        Server = server;
        server.UnmatchedRequestAnswer = AnswerUnmatched;
        if (server.Http2ConnectionFactory is null)
        {
            // gRPC is HTTP/2 only: turn it on with its defaults unless the app configured it already.
            server.UseHttp2();
        }
    }

    public HyperionServer Server { get; }

    public GrpcServiceOptions Options { get; } = new();

    public ILogger Logger => Server.Log.Logger;

    public TimeProvider Time => Server.Options.TimeProvider;

    public static GrpcHost For(HyperionServer server)
    {
        lock (Hosts)
        {
            if (!Hosts.TryGetValue(server, out var host))
            {
                host = new GrpcHost(server);
                Hosts.Add(server, host);
            }

            return host;
        }
    }

    public void AddService(string serviceName) => _services.Add(serviceName);

    /// <summary>Server-wide options, then the service's own.</summary>
    public GrpcServiceOptions Resolve(Action<GrpcServiceOptions>? configure)
    {
        var options = new GrpcServiceOptions();
        Options.CopyTo(options);
        configure?.Invoke(options);
        options.Validate();
        return options;
    }

    /// <summary>
    /// A gRPC request for a path no route has: UNIMPLEMENTED (PROTOCOL-HTTP2.md), for an unknown service or an unknown
    /// method of a known one. Anything else is left to the server (404, the app).
    /// </summary>
    private RackResponse AnswerUnmatched(RackEnv env)
    {
        if (!GrpcProtocol.IsGrpcContentType(env.ContentType))
        {
            return default;
        }

        if (Refuse(env, "(unknown)") is { IsDefault: false } refusal)
        {
            return refusal;
        }

        var path = env.Path.AsSpan();
        int slash = path.Length > 1 ? path[1..].IndexOf('/') : -1;
        bool knownService = slash > 0 && _services.Contains(path.Slice(1, slash).ToString());
        var status = new Status(StatusCode.Unimplemented, knownService ? "Method is unimplemented." : "Service is unimplemented.");
        GrpcLog.CallRefused(Logger, env.Path, status.StatusCode.ToString(), status.Detail);
        return TrailersOnly(200, status);
    }

    /// <summary>What every gRPC request must be before a handler runs: HTTP/2 (else 426), POST, a gRPC content type (else 415).</summary>
    public RackResponse Refuse(RackEnv env, string method)
    {
        if (env.Protocol != "HTTP/2")
        {
            // PROTOCOL-HTTP2.md: gRPC needs HTTP/2; grpc-dotnet answers HTTP/1.x with 426 naming the protocol to use.
            GrpcLog.CallRefused(Logger, method, "426", "gRPC requires HTTP/2");
            return RackResponse.Text(426, "gRPC requires HTTP/2.").WithHeaders([("Upgrade", "HTTP/2"), ("Connection", "Upgrade")]);
        }

        if (!GrpcProtocol.IsGrpcContentType(env.ContentType))
        {
            var status = new Status(StatusCode.Internal, $"Content-Type '{env.ContentType}' is not supported.");
            GrpcLog.CallRefused(Logger, method, "415", status.Detail);
            return TrailersOnly(415, status);
        }

        return default;
    }

    /// <summary>
    /// PROTOCOL-HTTP2.md Trailers-Only: one HEADERS frame with END_STREAM carrying the HTTP status, content-type and
    /// the call's status (no DATA, no content-length).
    /// </summary>
    public static RackResponse TrailersOnly(int httpStatus, Status status, (string Name, string Value)[]? extraHeaders = null)
    {
        var trailers = string.IsNullOrEmpty(status.Detail)
            ? new (string Name, string Value)[] { ("grpc-status", GrpcProtocol.StatusText(status.StatusCode)) }
            : [("grpc-status", GrpcProtocol.StatusText(status.StatusCode)), ("grpc-message", GrpcProtocol.PercentEncode(status.Detail))];
        IReadOnlyList<(string Name, string Value)> headers = extraHeaders is null
            ? [("content-type", GrpcProtocol.ContentType)]
            : [("content-type", GrpcProtocol.ContentType), .. extraHeaders];
        return RackResponse.Streaming(httpStatus, headers, NoBody) with { Trailers = trailers, HeadersOnFirstWrite = true };
    }
}
