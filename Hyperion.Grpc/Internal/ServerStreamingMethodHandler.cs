using Grpc.Core;

namespace Hyperion.Grpc.Internal;

/// <summary>A server-streaming method: one request message, a stream of response messages.</summary>
internal sealed class ServerStreamingMethodHandler<TRequest, TResponse> : GrpcMethodHandler
    where TRequest : class
    where TResponse : class
{
    private readonly Method<TRequest, TResponse> _method;
    private readonly ServerStreamingServerMethod<TRequest, TResponse> _inner;
    private ServerStreamingServerMethod<TRequest, TResponse>? _pipeline;

    public ServerStreamingMethodHandler(GrpcHost host, Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse> inner, Action<GrpcServiceOptions>? configure)
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
            pipeline = (request, responses, context) => interceptor.ServerStreamingServerHandler(request, responses, context, next);
        }

        _pipeline = pipeline;
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask RunAsync(GrpcServerCall call)
    {
        var request = await call.ReadSingleMessageAsync(_method.RequestMarshaller).ConfigureAwait(false);
        await _pipeline!(request, new ResponseStreamWriter<TResponse>(call, _method.ResponseMarshaller), call).ConfigureAwait(false);
    }
}
