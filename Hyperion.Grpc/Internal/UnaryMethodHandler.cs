using Grpc.Core;

namespace Hyperion.Grpc.Internal;

/// <summary>A unary method: one request message, one response message.</summary>
internal sealed class UnaryMethodHandler<TRequest, TResponse> : GrpcMethodHandler
    where TRequest : class
    where TResponse : class
{
    private readonly Method<TRequest, TResponse> _method;
    private readonly UnaryServerMethod<TRequest, TResponse> _inner;
    private UnaryServerMethod<TRequest, TResponse>? _pipeline;

    public UnaryMethodHandler(GrpcHost host, Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse> inner, Action<GrpcServiceOptions>? configure)
        : base(host, method.FullName, configure)
    {
        _method = method;
        _inner = inner;
    }

    protected override void BuildPipeline(GrpcServiceOptions options)
    {
        var pipeline = _inner;
        for (int i = options.Interceptors.Count - 1; i >= 0; i--)
        {
            var interceptor = options.Interceptors[i];
            var next = pipeline;
            pipeline = (request, context) => interceptor.UnaryServerHandler(request, context, next);
        }

        _pipeline = pipeline;
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask RunAsync(GrpcServerCall call)
    {
        var request = await call.ReadSingleMessageAsync(_method.RequestMarshaller).ConfigureAwait(false);
        var response = await _pipeline!(request, call).ConfigureAwait(false)
            ?? throw new RpcException(new Status(StatusCode.Internal, "The method returned no response message."));
        await call.WriteMessageAsync(response, _method.ResponseMarshaller, null, flush: false).ConfigureAwait(false);
    }
}
