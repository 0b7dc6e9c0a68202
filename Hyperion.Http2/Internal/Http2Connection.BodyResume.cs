using System.IO.Pipelines;
using Hyperion.Internal.Dispatch;

namespace Hyperion.Http2.Internal;

/// <summary>
/// Where a request-body reader resumes when DATA arrives. By default on the thread pool. For an inline route that reads
/// its body only asynchronously (gRPC's client-streaming and bidi handlers; <see cref="DispatchTarget.ReadsBodyAsynchronously"/>)
/// on a loop transport, on the loop itself, once the read batch that brought the bytes is parsed (outside the stream's
/// locks, with its responses flushed with the batch's): a ping-pong call then costs no thread hop per message. Each
/// such resumption is timed by the watchdog like the route, so a handler that blocks is reported and moved to the pool,
/// where its later resumptions go.
/// </summary>
internal sealed partial class Http2Connection
{
    private readonly List<(Action<object?> Continuation, object? State, DispatchTarget Target)> _resumes = [];
    private BodyReaderScheduler? _bodyScheduler;
    private Http2Stream? _feeding;

    /// <summary>Read loop: <paramref name="stream"/>'s body pipe is being written (its reader may be resumed now).</summary>
    private void Feeding(Http2Stream? stream) => _feeding = stream;

    private PipeScheduler BodyScheduler => _bodyScheduler ??= new BodyReaderScheduler(this);

    private bool TryDeferResume(Action<object?> continuation, object? state)
    {
        if (_feeding is not { } stream || !InReadBatch || Hyperion.Internal.Transport.Loops.TransportLoop.CurrentSlot is null
            || stream.Env.DispatchTarget is not { ReadsBodyAsynchronously: true } target || target.RunsOnThreadPool(_server.Options.DefaultDispatch))
        {
            return false;
        }

        _resumes.Add((continuation, state, target));
        return true;
    }

    /// <summary>End of a read batch, on the loop: the readers its DATA resumed.</summary>
    private void RunResumes()
    {
        if (_resumes.Count == 0)
        {
            return;
        }

        // A resumed handler cannot feed a body pipe, so nothing is added while this runs.
        for (int i = 0; i < _resumes.Count; i++)
        {
            var (continuation, state, target) = _resumes[i];
            RequestDispatcher.RunContinuation(_server, target, continuation, state);
        }

        _resumes.Clear();
    }

    private sealed class BodyReaderScheduler(Http2Connection connection) : PipeScheduler
    {
        public override void Schedule(Action<object?> action, object? state)
        {
            if (!connection.TryDeferResume(action, state))
            {
                System.Threading.ThreadPool.UnsafeQueueUserWorkItem(action, state, preferLocal: false);
            }
        }
    }
}
