using Grpc.Core;

namespace Hyperion.Grpc.Internal;

/// <summary>
/// The response stream of server-streaming and bidirectional calls. Each write is flushed (unless
/// <see cref="WriteFlags.BufferHint"/>) and waits for HTTP/2 flow control, so a slow reader slows the handler.
/// </summary>
internal sealed class ResponseStreamWriter<T> : IServerStreamWriter<T>
    where T : class
{
    private readonly GrpcServerCall _call;
    private readonly Marshaller<T> _marshaller;

    public ResponseStreamWriter(GrpcServerCall call, Marshaller<T> marshaller)
    {
        _call = call;
        _marshaller = marshaller;
    }

    public WriteOptions? WriteOptions
    {
        get => _call.WriteOptions;
        set => _call.WriteOptions = value;
    }

    public Task WriteAsync(T message) => WriteAsync(message, CancellationToken.None);

    public Task WriteAsync(T message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        cancellationToken.ThrowIfCancellationRequested();
        return _call.WriteMessageAsync(message, _marshaller, null, flush: true).AsTask();
    }
}
