using System.IO.Pipelines;

namespace Hyperion.Internal.Transport.Loops;

/// <summary>Runs pipe continuations on a loop thread: queued locally when already there, else queued and the loop woken.</summary>
internal sealed class LoopScheduler : PipeScheduler
{
    private readonly TransportLoop _loop;

    public LoopScheduler(TransportLoop loop) => _loop = loop;

    public override void Schedule(Action<object?> action, object? state) => _loop.Post(action, state);
}
