using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.IO.Pipelines;
using System.Threading.Tasks.Sources;

namespace Hyperion.Internal.Transport.Loops;

/// <summary>
/// The writer a loop connection hands its protocol: written blocks come from the server's pinned pool and, on
/// flush, join a send queue that the loop thread drains with one send in flight. It replaces a Pipe plus a
/// draining task, which cost about 0.7 KiB per idle connection (issue #3); an idle writer holds no block.
/// Back-pressure as with a Pipe: a flush that leaves more than <see cref="PauseThreshold"/> bytes unsent
/// completes only when sends bring it under <see cref="ResumeThreshold"/>.
/// The writer side may run on any thread (one at a time); the send side runs on the loop thread.
/// </summary>
internal sealed class LoopOutput : PipeWriter, IValueTaskSource<FlushResult>
{
    public const int PauseThreshold = 64 * 1024;
    public const int ResumeThreshold = 32 * 1024;
    private const int MaxFreeSegments = 4;

    private readonly LoopConnection _connection;
    private readonly TransportLoop _loop;
    private readonly MemoryPool<byte> _pool;

    // Writer side: written but not yet flushed.
    private Segment? _writeHead;
    private Segment? _writeTail;
    private int _unflushed;

    // Shared, under lock (this).
    private Segment? _sendHead;
    private Segment? _sendTail;
    private Segment? _free;
    private int _freeCount;
    private long _unsent;
    private bool _sendScheduled;
    private bool _writerCompleted;
    private bool _closed;
    private bool _doneSignalled;
    private bool _cancelNextFlush;
    private bool _flushPending;
    private CancellationTokenRegistration _flushRegistration;
    private ManualResetValueTaskSourceCore<FlushResult> _flush;

    // Loop side: the send in flight.
    private MemoryHandle _sendPin;
    private Segment? _sending;

    public LoopOutput(LoopConnection connection, TransportLoop loop, MemoryPool<byte> pool)
    {
        _connection = connection;
        _loop = loop;
        _pool = pool;
        _flush.RunContinuationsAsynchronously = false;
    }

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _unflushed;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        var tail = Reserve(sizeHint);
        return tail.Memory[tail.End..];
    }

    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        var tail = Reserve(sizeHint);
        return tail.Memory.Span[tail.End..];
    }

    public override void Advance(int bytes)
    {
        var tail = _writeTail;
        if (tail is null || (uint)bytes > (uint)(tail.Memory.Length - tail.End))
        {
            ThrowAdvancePastBuffer();
        }

        tail.End += bytes;
        _unflushed += bytes;
    }

    private Segment Reserve(int sizeHint)
    {
        var tail = _writeTail;
        int need = Math.Max(sizeHint, 1);
        if (tail is not null && tail.Memory.Length - tail.End >= need)
        {
            return tail;
        }

        var segment = RentSegment(need);
        if (tail is null)
        {
            _writeHead = segment;
        }
        else
        {
            tail.Next = segment;
        }

        _writeTail = segment;
        return segment;
    }

    private Segment RentSegment(int size)
    {
        Segment? segment;
        lock (this)
        {
            segment = _free;
            if (segment is not null)
            {
                _free = segment.Next;
                _freeCount--;
                segment.Next = null;
            }
        }

        segment ??= new Segment();
        if (size <= _pool.MaxBufferSize)
        {
            var owner = _pool.Rent(size);
            segment.Owner = owner;
            segment.Memory = owner.Memory;
        }
        else
        {
            // Bigger than a pool block (rare: a caller asking for one large span); pinned per send like any memory.
            segment.Memory = new byte[size];
        }

        return segment;
    }

    /// <summary>Under lock: returns a segment's block to the pool and keeps a few segment objects for reuse.</summary>
    private void ReleaseSegment(Segment segment)
    {
        segment.Owner?.Dispose();
        segment.Owner = null;
        segment.Memory = default;
        segment.Start = 0;
        segment.End = 0;
        segment.Next = null;
        if (_freeCount < MaxFreeSegments)
        {
            segment.Next = _free;
            _free = segment;
            _freeCount++;
        }
    }

    /// <summary>Under lock: moves the written bytes to the send queue, copying a small write into the last queued block when it fits.</summary>
    private void CommitWrites()
    {
        var head = _writeHead;
        if (head is null)
        {
            return;
        }

        _writeHead = null;
        _writeTail = null;
        int bytes = _unflushed;
        _unflushed = 0;
        if (_closed)
        {
            ReleaseChain(head);
            return;
        }

        _unsent += bytes;
        var last = _sendTail;
        if (head.Next is null && last is not null && last.Owner is not null && last.Memory.Length - last.End >= head.End)
        {
            // Many small flushes must not pin a block each while the peer is slow to read.
            head.Memory.Span[..head.End].CopyTo(last.Memory.Span[last.End..]);
            last.End += head.End;
            ReleaseSegment(head);
            return;
        }

        if (last is null)
        {
            _sendHead = head;
        }
        else
        {
            last.Next = head;
        }

        var tail = head;
        while (tail.Next is not null)
        {
            tail = tail.Next;
        }

        _sendTail = tail;
    }

    private void ReleaseChain(Segment? segment)
    {
        while (segment is not null)
        {
            var next = segment.Next;
            ReleaseSegment(segment);
            segment = next;
        }
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<FlushResult>(cancellationToken);
        }

        bool schedule = false;
        ValueTask<FlushResult> result;
        lock (this)
        {
            if (_writerCompleted)
            {
                ThrowWriterCompleted();
            }

            CommitWrites();
            if (_closed)
            {
                return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true));
            }

            if (_sendHead is not null && !_sendScheduled)
            {
                _sendScheduled = true;
                schedule = true;
            }

            if (_cancelNextFlush)
            {
                _cancelNextFlush = false;
                result = new ValueTask<FlushResult>(new FlushResult(isCanceled: true, isCompleted: false));
            }
            else if (_unsent > PauseThreshold)
            {
                _flushPending = true;
                _flush.Reset();
                result = new ValueTask<FlushResult>(this, _flush.Version);
                if (cancellationToken.CanBeCanceled)
                {
                    _flushRegistration = cancellationToken.UnsafeRegister(static (s, ct) => ((LoopOutput)s!).CancelFlush(ct), this);
                }
            }
            else
            {
                result = new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: false));
            }
        }

        if (schedule)
        {
            ScheduleSend();
        }

        return result;
    }

    private void CancelFlush(CancellationToken token)
    {
        lock (this)
        {
            if (!_flushPending)
            {
                return;
            }

            _flushPending = false;
            _flushRegistration = default;
        }

        _flush.SetException(new OperationCanceledException(token));
    }

    public override void CancelPendingFlush()
    {
        lock (this)
        {
            if (!_flushPending)
            {
                _cancelNextFlush = true;
                return;
            }

            _flushPending = false;
            _flushRegistration.Unregister();
            _flushRegistration = default;
        }

        _flush.SetResult(new FlushResult(isCanceled: true, isCompleted: false));
    }

    public override void Complete(Exception? exception = null)
    {
        bool schedule = false;
        lock (this)
        {
            if (_writerCompleted)
            {
                return;
            }

            _writerCompleted = true;
            CommitWrites();
            if (!_sendScheduled)
            {
                _sendScheduled = true;
                schedule = true;
            }
        }

        if (schedule)
        {
            ScheduleSend();
        }
    }

    private void ScheduleSend()
    {
        if (_loop.IsCurrentThread)
        {
            SendNext();
        }
        else
        {
            _loop.Post(static s => ((LoopOutput)s!).SendNext(), this);
        }
    }

    /// <summary>Loop thread, no send in flight: sends the next queued bytes, or reports the output done once the writer completed.</summary>
    private unsafe void SendNext()
    {
        if (_connection.Closed)
        {
            Shutdown(signalDone: true);
            return;
        }

        bool done = false;
        Segment? segment = null;
        int start = 0, length = 0;
        lock (this)
        {
            while (_sendHead is { } head && head.Start == head.End)
            {
                _sendHead = head.Next;
                if (_sendTail == head)
                {
                    _sendTail = null;
                }

                ReleaseSegment(head);
            }

            if (_sendHead is null)
            {
                _sendScheduled = false;
                if (_writerCompleted && !_doneSignalled)
                {
                    _doneSignalled = true;
                    done = true;
                }
            }
            else
            {
                segment = _sendHead;
                start = segment.Start;
                length = segment.End - segment.Start;
            }
        }

        if (done)
        {
            _loop.OnOutputDone(_connection);
            return;
        }

        if (segment is null)
        {
            return;
        }

        _sending = segment;
        _sendPin = segment.Memory.Pin();
        _loop.SubmitSend(_connection, (nint)((byte*)_sendPin.Pointer + start), (uint)length);
    }

    /// <summary>Loop thread: a send completed with <paramref name="result"/> bytes or -errno.</summary>
    public void OnSendCompleted(int result)
    {
        _sendPin.Dispose();
        _sendPin = default;
        var segment = _sending!;
        _sending = null;
        if (result <= 0 || _connection.Closed)
        {
            // Peer gone (EPIPE/ECONNRESET) or cancelled by a close: nothing more can be sent.
            Shutdown(signalDone: true);
            return;
        }

        bool release = false;
        lock (this)
        {
            segment.Start += result;
            _unsent -= result;
            if (_flushPending && _unsent <= ResumeThreshold)
            {
                _flushPending = false;
                release = true;
                _flushRegistration.Unregister();
                _flushRegistration = default;
            }
        }

        SendNext();
        if (release)
        {
            _flush.SetResult(new FlushResult(isCanceled: false, isCompleted: false));
        }
    }

    /// <summary>Loop thread: the connection closed; with no send in flight, drop what is queued and release a waiting flush.</summary>
    public void OnConnectionClosed()
    {
        if (!_connection.SendInFlight)
        {
            Shutdown(signalDone: false);
        }
    }

    /// <summary>Loop thread, no send in flight: output can go nowhere any more.</summary>
    private void Shutdown(bool signalDone)
    {
        bool release;
        bool done = false;
        lock (this)
        {
            _closed = true;
            _sendScheduled = false;
            ReleaseChain(_sendHead);
            _sendHead = null;
            _sendTail = null;
            _unsent = 0;
            release = _flushPending;
            _flushPending = false;
            if (release)
            {
                _flushRegistration.Unregister();
                _flushRegistration = default;
            }

            if (signalDone && !_doneSignalled)
            {
                _doneSignalled = true;
                done = true;
            }
        }

        if (done)
        {
            _loop.OnOutputDone(_connection);
        }

        if (release)
        {
            _flush.SetResult(new FlushResult(isCanceled: false, isCompleted: true));
        }
    }

    FlushResult IValueTaskSource<FlushResult>.GetResult(short token) => _flush.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<FlushResult>.GetStatus(short token) => _flush.GetStatus(token);

    void IValueTaskSource<FlushResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _flush.OnCompleted(continuation, state, token, flags);

    [DoesNotReturn]
    private static void ThrowAdvancePastBuffer() => throw new ArgumentOutOfRangeException("bytes", "Advanced past the end of the buffer.");

    [DoesNotReturn]
    private static void ThrowWriterCompleted() => throw new InvalidOperationException("Writing is not allowed after the writer was completed.");

    private sealed class Segment
    {
        public IMemoryOwner<byte>? Owner;
        public Memory<byte> Memory;
        public int Start;
        public int End;
        public Segment? Next;
    }
}
