using Grpc.Core;

namespace Hyperion.Grpc.Internal;

/// <summary>A bidirectional method: request and response streams, read and written as the handler likes.</summary>
internal sealed class DuplexStreamingMethodHandler<TRequest, TResponse> : GrpcMethodHandler
    where TRequest : class
    where TResponse : class
{
    private readonly Method<TRequest, TResponse> _method;
    private readonly DuplexStreamingServerMethod<TRequest, TResponse> _inner;
    private DuplexStreamingServerMethod<TRequest, TResponse>? _pipeline;

    public DuplexStreamingMethodHandler(GrpcHost host, Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse> inner, Action<GrpcServiceOptions>? configure)
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
            pipeline = (requests, responses, context) => interceptor.DuplexStreamingServerHandler(requests, responses, context, next);
        }

        _pipeline = pipeline;
    }

    public override ValueTask RunAsync(GrpcServerCall call)
        => new(_pipeline!(
            new RequestStreamReader<TRequest>(call, _method.RequestMarshaller),
            new ResponseStreamWriter<TResponse>(call, _method.ResponseMarshaller),
            call));
}
