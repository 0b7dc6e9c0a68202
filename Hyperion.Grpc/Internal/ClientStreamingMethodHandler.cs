using Grpc.Core;

namespace Hyperion.Grpc.Internal;

/// <summary>A client-streaming method: a stream of request messages, one response message.</summary>
internal sealed class ClientStreamingMethodHandler<TRequest, TResponse> : GrpcMethodHandler
    where TRequest : class
    where TResponse : class
{
    private readonly Method<TRequest, TResponse> _method;
    private readonly ClientStreamingServerMethod<TRequest, TResponse> _inner;
    private ClientStreamingServerMethod<TRequest, TResponse>? _pipeline;

    public ClientStreamingMethodHandler(GrpcHost host, Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse> inner, Action<GrpcServiceOptions>? configure)
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
            pipeline = (requests, context) => interceptor.ClientStreamingServerHandler(requests, context, next);
        }

        _pipeline = pipeline;
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask RunAsync(GrpcServerCall call)
    {
        var requests = new RequestStreamReader<TRequest>(call, _method.RequestMarshaller);
        var response = await _pipeline!(requests, call).ConfigureAwait(false)
            ?? throw new RpcException(new Status(StatusCode.Internal, "The method returned no response message."));
        await call.WriteMessageAsync(response, _method.ResponseMarshaller, null, flush: false).ConfigureAwait(false);
    }
}
