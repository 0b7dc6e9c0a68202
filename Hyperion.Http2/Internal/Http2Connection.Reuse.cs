using System.IO.Pipelines;

namespace Hyperion.Http2.Internal;

/// <summary>
/// What every stream needs (its <see cref="RackEnv"/>, its request-body pipe) is kept for the connection's next
/// streams, up to the streams it may have in flight. The server-wide env pool is sized for HTTP/1.1 exchanges, so
/// 100 streams at once on one connection would otherwise allocate and drop most of them each round (Kestrel pools
/// its streams per connection for the same reason). A closed connection hands its envs back to the server.
/// </summary>
internal sealed partial class Http2Connection
{
    private readonly Lock _reuseLock = new();
    private readonly Stack<RackEnv> _idleEnvs = new();
    private readonly Stack<Pipe> _idlePipes = new();
    private bool _reuseClosed;
    private PipeOptions? _bodyPipeOptions;

    private int ReuseCapacity => Math.Clamp(_options.MaxConcurrentStreams, 1, 1024);

    private RackEnv RentEnv()
    {
        lock (_reuseLock)
        {
            if (_idleEnvs.TryPop(out var env))
            {
                return env;
            }
        }

        return _server.RentEnv();
    }

    internal Pipe RentBodyPipe()
    {
        lock (_reuseLock)
        {
            if (_idlePipes.TryPop(out var pipe))
            {
                return pipe;
            }
        }

        // The receive window bounds what can pile up in a body pipe, so the pipe itself never pauses the read loop.
        // Its blocks come from the server's pool: ArrayPool.Shared keeps only a few 4 KiB arrays per core, so 100
        // bodies buffered at once would allocate and drop most of theirs.
        _bodyPipeOptions ??= new PipeOptions(
            _server.MemoryPool,
            readerScheduler: BodyScheduler,
            pauseWriterThreshold: 0,
            resumeWriterThreshold: 0,
            minimumSegmentSize: Hyperion.Internal.Infrastructure.PinnedBlockMemoryPool.BlockSize,
            useSynchronizationContext: false);
        return new Pipe(_bodyPipeOptions);
    }

    /// <summary>
    /// A finished stream's env, and its body pipe when nothing can reach it any more (both ends completed). Both are
    /// reset before anything else can rent them.
    /// </summary>
    internal void ReturnStreamResources(RackEnv env, Pipe? body)
    {
        env.Reset();
        body?.Reset();
        lock (_reuseLock)
        {
            if (!_reuseClosed)
            {
                int capacity = ReuseCapacity;
                if (body is not null && _idlePipes.Count < capacity)
                {
                    _idlePipes.Push(body);
                }

                if (_idleEnvs.Count < capacity)
                {
                    _idleEnvs.Push(env);
                    return;
                }
            }
        }

        _server.ReturnEnv(env);
    }

    /// <summary>The connection is done: streams still finishing return to the server's pool from now on.</summary>
    private void ReleaseReusable()
    {
        RackEnv[] envs;
        lock (_reuseLock)
        {
            _reuseClosed = true;
            envs = [.. _idleEnvs];
            _idleEnvs.Clear();
            _idlePipes.Clear();
        }

        foreach (var env in envs)
        {
            _server.ReturnEnv(env);
        }
    }
}
