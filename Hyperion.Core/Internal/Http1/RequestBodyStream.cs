namespace Hyperion.Internal.Http1;

/// <summary>rack.input: a read-only stream over the body as it arrives. Reused with its pooled env.</summary>
internal sealed class RequestBodyStream(RackEnv env) : Stream
{
    private IRequestBodyReader? _reader;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    internal void Attach(IRequestBodyReader reader) => _reader = reader;

    internal void Detach() => _reader = null;

    /// <summary>True when no body is attached or all of it has arrived, so reading it to the end never waits.</summary>
    internal bool IsFullyBuffered => _reader is null || _reader.IsBodyFullyBuffered;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_reader is null || buffer.IsEmpty)
        {
            return new ValueTask<int>(0);
        }

        if (!env.BodyReadStarted)
        {
            try
            {
                env.StartBodyRead();
            }
            catch (Exception ex)
            {
                return ValueTask.FromException<int>(ex);
            }
        }

        return _reader.ReadBodyAsync(buffer, cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (_reader is null || count == 0)
        {
            return 0;
        }

        if (Transport.Loops.TransportLoop.IsLoopThread || Dispatch.RequestDispatcher.InInlineCall)
        {
            return ReadBufferedOnLoop(buffer.AsSpan(offset, count));
        }

        return Wait(ReadAsync(buffer.AsMemory(offset, count)));
    }

    public override int Read(Span<byte> buffer)
    {
        if (_reader is null || buffer.IsEmpty)
        {
            return 0;
        }

        if (Transport.Loops.TransportLoop.IsLoopThread || Dispatch.RequestDispatcher.InInlineCall)
        {
            return ReadBufferedOnLoop(buffer);
        }

        // Synchronous reads block this thread until bytes arrive; Rack apps are allowed to read rack.input
        // synchronously, so this is supported rather than refused. The read has completed before the array
        // goes back to the pool.
        var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            int n = Wait(ReadAsync(rented.AsMemory(0, buffer.Length)));
            rented.AsSpan(0, n).CopyTo(buffer);
            return n;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// On a loop thread (and inline on any transport, so the in-process client fails where a loop would) only buffered bytes can be read: blocking would stall the very loop that has to deliver
    /// the rest, and a read started here would outlive this call and write into a buffer the caller no longer owns.
    /// </summary>
    private int ReadBufferedOnLoop(Span<byte> buffer)
    {
        if (!env.BodyReadStarted)
        {
            env.StartBodyRead();
        }

        if (_reader!.TryReadBufferedBody(buffer, out int read))
        {
            return read;
        }

        throw new InvalidOperationException("Synchronous reads of rack.input that must wait for data are not allowed on a loop thread (a route that continued there after an await); use ReadAsync.");
    }

    private static int Wait(ValueTask<int> read) => read.IsCompletedSuccessfully ? read.Result : read.AsTask().GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
