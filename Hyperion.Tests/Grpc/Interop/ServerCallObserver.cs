using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Hyperion.Tests.Grpc.Interop;

/// <summary>
/// An interceptor on the server that tells the cases what the handler side saw: that a call of a method has started, and
/// how its handler ended (whether the call's cancellation token had fired, and the status an RpcException carried).
/// The cancel and deadline cases assert on it, since the client alone reports CANCELLED or DEADLINE_EXCEEDED whatever
/// the server does.
/// </summary>
public sealed class ServerCallObserver : Interceptor
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _started = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<HandlerOutcome>> _finished = new();

    /// <summary>Completes when the first call of <paramref name="method"/> (e.g. <c>/grpc.testing.TestService/FullDuplexCall</c>) reached its handler.</summary>
    public Task Started(string method) => _started.GetOrAdd(method, NewSignal).Task;

    /// <summary>Completes when the handler of the first call of <paramref name="method"/> has returned or thrown.</summary>
    public Task<HandlerOutcome> Finished(string method) => _finished.GetOrAdd(method, NewOutcome).Task;

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        => ObserveAsync(context, () => continuation(request, context));

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
        => ObserveAsync(context, () => continuation(requestStream, context));

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
        => ObserveAsync(context, async () =>
        {
            await continuation(request, responseStream, context);
            return true;
        });

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
        => ObserveAsync(context, async () =>
        {
            await continuation(requestStream, responseStream, context);
            return true;
        });

    private static TaskCompletionSource NewSignal(string _) => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static TaskCompletionSource<HandlerOutcome> NewOutcome(string _) => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task<T> ObserveAsync<T>(ServerCallContext context, Func<Task<T>> handler)
    {
        _started.GetOrAdd(context.Method, NewSignal).TrySetResult();
        Exception? error = null;
        try
        {
            return await handler();
        }
        catch (Exception ex)
        {
            error = ex;
            throw;
        }
        finally
        {
            _finished.GetOrAdd(context.Method, NewOutcome).TrySetResult(new HandlerOutcome(context.CancellationToken.IsCancellationRequested, error));
        }
    }

    /// <summary>How a handler ended: whether its call's token had fired, and what it threw (null when it returned).</summary>
    public sealed record HandlerOutcome(bool TokenCancelled, Exception? Error);
}
