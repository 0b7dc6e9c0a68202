using System.Reflection;
using Grpc.Core;

namespace Hyperion.Grpc.Internal;

/// <summary>
/// The <see cref="ServiceBinderBase"/> the generated <c>BindService(ServiceBinderBase, TImpl)</c> calls once per method:
/// each becomes an exact route. Generated code passes a null handler when bound without an instance (the factory
/// form); the method is then found once on <typeparamref name="TService"/> and called on a new instance per call.
/// </summary>
internal sealed class GrpcServiceBinder<TService> : ServiceBinderBase
    where TService : class
{
    private readonly GrpcHost _host;
    private readonly Func<TService>? _factory;
    private readonly Action<GrpcServiceOptions>? _configure;

    public GrpcServiceBinder(GrpcHost host, Func<TService>? factory, Action<GrpcServiceOptions>? configure)
    {
        _host = host;
        _factory = factory;
        _configure = configure;
    }

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
    {
        if (handler is null)
        {
            var open = Find<Func<TService, TRequest, ServerCallContext, Task<TResponse>>>(method, typeof(TRequest), typeof(ServerCallContext));
            var factory = _factory!;
            handler = async (request, context) =>
            {
                var service = factory();
                try
                {
                    return await open(service, request, context).ConfigureAwait(false);
                }
                finally
                {
                    await ReleaseAsync(service).ConfigureAwait(false);
                }
            };
        }

        Register(method, new UnaryMethodHandler<TRequest, TResponse>(_host, method, handler, _configure));
    }

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler)
    {
        if (handler is null)
        {
            var open = Find<Func<TService, IAsyncStreamReader<TRequest>, ServerCallContext, Task<TResponse>>>(method, typeof(IAsyncStreamReader<TRequest>), typeof(ServerCallContext));
            var factory = _factory!;
            handler = async (requests, context) =>
            {
                var service = factory();
                try
                {
                    return await open(service, requests, context).ConfigureAwait(false);
                }
                finally
                {
                    await ReleaseAsync(service).ConfigureAwait(false);
                }
            };
        }

        Register(method, new ClientStreamingMethodHandler<TRequest, TResponse>(_host, method, handler, _configure));
    }

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler)
    {
        if (handler is null)
        {
            var open = Find<Func<TService, TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task>>(method, typeof(TRequest), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext));
            var factory = _factory!;
            handler = async (request, responses, context) =>
            {
                var service = factory();
                try
                {
                    await open(service, request, responses, context).ConfigureAwait(false);
                }
                finally
                {
                    await ReleaseAsync(service).ConfigureAwait(false);
                }
            };
        }

        Register(method, new ServerStreamingMethodHandler<TRequest, TResponse>(_host, method, handler, _configure));
    }

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler)
    {
        if (handler is null)
        {
            var open = Find<Func<TService, IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>, ServerCallContext, Task>>(method, typeof(IAsyncStreamReader<TRequest>), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext));
            var factory = _factory!;
            handler = async (requests, responses, context) =>
            {
                var service = factory();
                try
                {
                    await open(service, requests, responses, context).ConfigureAwait(false);
                }
                finally
                {
                    await ReleaseAsync(service).ConfigureAwait(false);
                }
            };
        }

        Register(method, new DuplexStreamingMethodHandler<TRequest, TResponse>(_host, method, handler, _configure));
    }

    private void Register(IMethod method, GrpcMethodHandler handler)
    {
        _host.AddService(method.ServiceName);
        _host.AddServiceType(typeof(TService));
        _host.Server.Handle("POST", method.FullName, handler.Handle);

        // Its handler reads messages only asynchronously: a call may start inline before its body is all here, and on a
        // loop transport each message resumes it on the loop (Http2Connection.BodyResume).
        _host.Server.Routes.Find(method.FullName)!.Find("POST")!.Dispatch.ReadsBodyAsynchronously = true;
    }

    /// <summary>Once per method at registration: the generated base's virtual method as an open delegate (virtual dispatch kept).</summary>
    private T Find<T>(IMethod method, params Type[] parameters)
        where T : Delegate
    {
        if (_factory is null)
        {
            throw new InvalidOperationException($"BindService passed no handler for {method.FullName}, and no service factory was given.");
        }

        var info = typeof(TService).GetMethod(method.Name, BindingFlags.Public | BindingFlags.Instance, parameters)
            ?? throw new InvalidOperationException($"{typeof(TService).FullName} has no method {method.Name} for {method.FullName}.");
        return info.CreateDelegate<T>();
    }

    /// <summary>A service the factory made for one call is disposed after it, if it is disposable.</summary>
    private static ValueTask ReleaseAsync(TService service)
    {
        if (service is IAsyncDisposable asyncDisposable)
        {
            return asyncDisposable.DisposeAsync();
        }

        (service as IDisposable)?.Dispose();
        return default;
    }
}
