using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;
using Hyperion.Internal.Http;
using Hyperion.Native;
using Microsoft.Win32.SafeHandles;

namespace Hyperion.Internal.Transport.Loops;

/// <summary>
/// The writer a loop connection hands its protocol: written blocks come from the server's pinned pool and, on
/// flush, join a send queue that the loop thread drains with one send in flight. It replaces a Pipe plus a
/// draining task, which cost about 0.7 KiB per idle connection (issue #3); an idle writer holds no block.
/// Back-pressure as with a Pipe: a flush that leaves more than <see cref="PauseThreshold"/> bytes unsent
/// completes only when sends bring it under <see cref="ResumeThreshold"/>.
/// The writer side may run on any thread (one at a time); the send side runs on the loop thread.
/// A file body joins the queue as a segment of its own (<see cref="WriteFile"/>), in order after the head before it,
/// and goes out with sendfile(2); the queue owns its descriptor and closes it once sent or dropped.
/// </summary>
internal sealed unsafe class LoopOutput : PipeWriter, IValueTaskSource<FlushResult>
{
    public const int PauseThreshold = 64 * 1024;
    public const int ResumeThreshold = 32 * 1024;
    private const int MaxFreeSegments = 4;

    /// <summary>Up to this many queued blocks go out in one sendmsg (64 KiB of 4 KiB blocks), not one send each.</summary>
    private const int MaxGather = 16;

    /// <summary>One sendfile call asks for at most this much; the socket buffer takes less anyway.</summary>
    private const int MaxFileSend = 1 << 30;

    private readonly LoopConnection _connection;
    private readonly TransportLoop _loop;
    private readonly MemoryPool<byte> _pool;

    // Writer side: written but not yet flushed.
    private Segment? _writeHead;
    private Segment? _writeTail;
    private int _unflushed;
    private long _unflushedFile;

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

    // Loop side: the send in flight: its first segment, how many it covers, and (for more than one) the native
    // msghdr + iovec array the kernel reads until the send completes.
    private Segment? _sending;
    private int _sendingCount;
    private int _sendingLength;
    private MessageHeader* _gather;

    public LoopOutput(LoopConnection connection, TransportLoop loop, MemoryPool<byte> pool)
    {
        _connection = connection;
        _loop = loop;
        _pool = pool;
        _flush.RunContinuationsAsynchronously = false;
    }

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _unflushed + _unflushedFile;

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

    /// <summary>
    /// Queues <paramref name="length"/> bytes of <paramref name="file"/> from <paramref name="offset"/>, after everything
    /// written so far; the output owns the descriptor from here on (closed once sent, or when the connection ends first).
    /// </summary>
    public void WriteFile(SafeFileHandle file, long offset, long length)
    {
        if (length <= 0)
        {
            file.Dispose();
            return;
        }

        var segment = TakeSegment();
        segment.File = file;
        segment.FileOffset = offset;
        segment.FileStart = offset;
        segment.FileEnd = offset + length;
        if (_writeTail is null)
        {
            _writeHead = segment;
        }
        else
        {
            _writeTail.Next = segment;
        }

        _writeTail = segment;
        _unflushedFile += length;
    }

    private Segment RentSegment(int size)
    {
        var segment = TakeSegment();
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

    private Segment TakeSegment()
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

        return segment ?? new Segment();
    }

    /// <summary>Under lock: returns a segment's block to the pool (or closes its file) and keeps a few segment objects for reuse.</summary>
    private void ReleaseSegment(Segment segment)
    {
        segment.Owner?.Dispose();
        segment.Owner = null;
        segment.File?.Dispose();
        segment.File = null;
        segment.FileOffset = 0;
        segment.FileStart = 0;
        segment.FileEnd = 0;
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
        long bytes = _unflushed + _unflushedFile;
        _unflushed = 0;
        _unflushedFile = 0;
        if (_closed)
        {
            ReleaseChain(head);
            return;
        }

        _unsent += bytes;
        var last = _sendTail;
        if (head.Next is null && head.File is null && last is not null && last.Owner is not null && last.Memory.Length - last.End >= head.End)
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
    private void SendNext()
    {
        if (_connection.Closed)
        {
            Shutdown(signalDone: true);
            return;
        }

        bool done = false;
        Segment? first = null;
        int count = 0;
        lock (this)
        {
            while (_sendHead is { } head && head.IsDrained)
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
                FreeGather();
                if (_writerCompleted && !_doneSignalled)
                {
                    _doneSignalled = true;
                    done = true;
                }
            }
            else
            {
                // Pin and describe the queued blocks now: a later commit may append to the last one, and the
                // send covers exactly what was queued at this point.
                // A file segment goes alone; memory blocks are gathered up to the next file segment.
                first = _sendHead;
                for (var segment = first; segment is not null && count < MaxGather; segment = segment.Next)
                {
                    if (segment.File is not null)
                    {
                        count = count == 0 ? 1 : count;
                        break;
                    }

                    segment.SentStart = segment.Start;
                    segment.SentLength = segment.End - segment.Start;
                    count++;
                }
            }
        }

        if (done)
        {
            _loop.OnOutputDone(_connection);
            return;
        }

        if (first is null)
        {
            return;
        }

        _sending = first;
        _sendingCount = count;
        if (first.File is { } file)
        {
            int chunk = (int)Math.Min(first.FileEnd - first.FileOffset, MaxFileSend);
            _sendingLength = chunk;
            _loop.SubmitSendFile(_connection, (int)file.DangerousGetHandle(), first.FileOffset, chunk);
            return;
        }

        if (count == 1)
        {
            first.Pin = first.Memory.Pin();
            _sendingLength = first.SentLength;
            _loop.SubmitSend(_connection, (nint)((byte*)first.Pin.Pointer + first.SentStart), (uint)first.SentLength);
            return;
        }

        if (_gather == null)
        {
            // One allocation: the msghdr, then its iovecs.
            _gather = (MessageHeader*)NativeMemory.AllocZeroed((nuint)(sizeof(MessageHeader) + (MaxGather * sizeof(IoVector))));
            _gather->IoVectors = (nint)(_gather + 1);
        }

        var iov = (IoVector*)_gather->IoVectors;
        int total = 0;
        var current = first;
        for (int i = 0; i < count; i++, current = current.Next!)
        {
            current.Pin = current.Memory.Pin();
            iov[i].Base = (nint)((byte*)current.Pin.Pointer + current.SentStart);
            iov[i].Length = (nuint)current.SentLength;
            total += current.SentLength;
        }

        _gather->IoVectorCount = (nuint)count;
        _sendingLength = total;
        _loop.SubmitSendMessage(_connection, (nint)_gather);
    }

    /// <summary>Loop thread: a send completed with <paramref name="result"/> bytes or -errno.</summary>
    public void OnSendCompleted(int result)
    {
        var first = _sending!;
        int count = _sendingCount;
        _sending = null;
        _sendingCount = 0;
        var segment = first;
        for (int i = 0; i < count; i++, segment = segment.Next!)
        {
            segment.Pin.Dispose();
            segment.Pin = default;
        }

        if (result == 0 && first.File is not null && !_connection.Closed)
        {
            // sendfile at end of file before the announced length: the file shrank after it was opened. A short body
            // would be read as the start of the next response, so the connection is cut (RFC 9112 §8).
            _loop.Server.Log.ConnectionError(_connection.Context.RemoteText, FileBody.ShrankException(first.FileEnd - first.FileStart, first.FileOffset - first.FileStart));
            _loop.CloseNow(_connection);
            return;
        }

        if (result <= 0 || _connection.Closed)
        {
            // Peer gone (EPIPE/ECONNRESET) or cancelled by a close: nothing more can be sent.
            Shutdown(signalDone: true);
            return;
        }

        if (first.File is not null)
        {
            _loop.Server.CountKernelFileBytes(result);
        }

        bool release = false;
        lock (this)
        {
            // A partial send ends inside one of the blocks: the rest goes out with the next send.
            int left = Math.Min(result, _sendingLength);
            segment = first;
            if (first.File is not null)
            {
                first.FileOffset += left;
            }
            else
            {
                for (int i = 0; i < count && left > 0; i++, segment = segment.Next!)
                {
                    int taken = Math.Min(left, segment.SentLength);
                    segment.Start = segment.SentStart + taken;
                    left -= taken;
                }
            }

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

    /// <summary>Loop thread, no send in flight: the msghdr/iovec area is only held while blocks are queued.</summary>
    private void FreeGather()
    {
        if (_gather != null)
        {
            NativeMemory.Free(_gather);
            _gather = null;
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
            FreeGather();
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

        // While a send that covers this block is in flight (loop thread only).
        public MemoryHandle Pin;
        public int SentStart;
        public int SentLength;

        // A file body instead of memory: the bytes [FileOffset, FileEnd) of File are still to send; the body began at
        // FileStart (a range starts inside the file).
        public SafeFileHandle? File;
        public long FileStart;
        public long FileOffset;
        public long FileEnd;

        public bool IsDrained => File is null ? Start == End : FileOffset == FileEnd;
    }
}
