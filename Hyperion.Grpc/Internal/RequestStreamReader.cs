using Grpc.Core;

namespace Hyperion.Grpc.Internal;

/// <summary>The request stream of client-streaming and bidirectional calls: one message per <see cref="MoveNext"/>.</summary>
internal sealed class RequestStreamReader<T> : IAsyncStreamReader<T>
    where T : class
{
    private readonly GrpcServerCall _call;
    private readonly Marshaller<T> _marshaller;
    private T? _current;

    public RequestStreamReader(GrpcServerCall call, Marshaller<T> marshaller)
    {
        _call = call;
        _marshaller = marshaller;
    }

    public T Current => _current ?? throw new InvalidOperationException("MoveNext has not returned true.");

    public Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var read = _call.ReadMessageAsync(cancellationToken);
        if (read.IsCompletedSuccessfully)
        {
            return Take(read.Result) ? Task.FromResult(true) : Task.FromResult(false);
        }

        return AwaitAsync(read);
    }

    private async Task<bool> AwaitAsync(ValueTask<bool> read) => Take(await read.ConfigureAwait(false));

    private bool Take(bool hasMessage)
    {
        _current = hasMessage ? _call.Deserialize(_marshaller) : null;
        return hasMessage;
    }
}
