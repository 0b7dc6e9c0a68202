using Grpc.Core;

namespace Hyperion.Grpc.Internal;

/// <summary>
/// One method of a bound service, registered as the exact route <c>POST /package.Service/Method</c>. The shape
/// (unary, client-, server-, bidirectional streaming) is the subclass; options and the interceptor chain are fixed on
/// the first call.
/// </summary>
internal abstract class GrpcMethodHandler
{
    private readonly Action<GrpcServiceOptions>? _configure;
    private GrpcServiceOptions? _options;

    protected GrpcMethodHandler(GrpcHost host, string fullName, Action<GrpcServiceOptions>? configure)
    {
        Host = host;
        FullName = fullName;
        _configure = configure;
    }

    public GrpcHost Host { get; }

    /// <summary><c>/package.Service/Method</c>: the route's path and <see cref="ServerCallContext.Method"/>.</summary>
    public string FullName { get; }

    protected GrpcServiceOptions Options
    {
        get
        {
            var options = _options;
            if (options is null)
            {
                options = Host.Resolve(_configure);
                BuildPipeline(options);
                _options = options;
            }

            return options;
        }
    }

    /// <summary>The route: refuses what is not a gRPC call, else answers with the call's streaming body.</summary>
    public RackResponse Handle(RackEnv env)
    {
        if (Host.Refuse(env, FullName) is { IsDefault: false } refusal)
        {
            return refusal;
        }

        // A gRPC stream is bounded per message (MaxReceiveMessageSize), not as one HTTP body (unless a middleware
        // already read it, which fixed the limit).
        if (!env.BodyReadStarted)
        {
            env.MaxRequestBodySize = null;
        }

        var call = new GrpcServerCall(this, env, Options);
        if (call.Begin(Host.Time, Host.Logger) is { } status)
        {
            GrpcLog.CallRefused(Host.Logger, FullName, status.StatusCode.ToString(), status.Detail);
            return GrpcHost.TrailersOnly(200, status, status.StatusCode == StatusCode.Unimplemented ? [("grpc-accept-encoding", GrpcCompression.Supported)] : null);
        }

        return RackResponse.Streaming(200, call, call.RunAsync) with { HeadersOnFirstWrite = true };
    }

    /// <summary>Wraps the service method in the interceptors, first one outermost.</summary>
    protected abstract void BuildPipeline(GrpcServiceOptions options);

    /// <summary>Reads the request, runs the handler, writes the response messages; exceptions become the call's status.</summary>
    public abstract ValueTask RunAsync(GrpcServerCall call);
}
