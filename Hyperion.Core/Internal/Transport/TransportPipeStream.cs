using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Hyperion.Internal.Transport;

/// <summary>
/// A pair of pipes as a <see cref="Stream"/>: under <see cref="System.Net.Security.SslStream"/> (the transport's
/// pipes) and as the in-process client's connection (the server's pipes, seen from the other end). Writes are
/// buffered in the pipe and sent on <see cref="FlushAsync(CancellationToken)"/>, so a response of many TLS records
/// leaves in one transport flush; while <see cref="FlushEachWrite"/>, every write flushes at once (TLS handshake
/// messages are not followed by a flush; an HTTP client's writes expect to be sent).
/// </summary>
internal sealed class TransportPipeStream : Stream
{
    private readonly PipeReader _input;
    private readonly PipeWriter _output;

    private readonly bool _ownsPipes;
    private bool _disposed;

    /// <param name="input">What the stream reads.</param>
    /// <param name="output">Where the stream writes.</param>
    /// <param name="ownsPipes">Complete both pipes when the stream is disposed.</param>
    public TransportPipeStream(PipeReader input, PipeWriter output, bool ownsPipes = false)
    {
        _input = input;
        _output = output;
        _ownsPipes = ownsPipes;
    }

    /// <summary>When true (the default), every write is flushed at once; TLS turns it off after the handshake.</summary>
    public bool FlushEachWrite { get; set; } = true;

    /// <summary>True once a read saw the peer's end of input.</summary>
    public bool PeerClosed { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_input.TryRead(out var result) && TryTake(result, buffer.Span, out int count))
        {
            return new ValueTask<int>(count);
        }

        return ReadSlowAsync(buffer, cancellationToken);
    }

    // Pooled: a keep-alive TLS connection goes through here once per request that waits for the client.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadSlowAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (TryTake(result, buffer.Span, out int count))
            {
                return count;
            }
        }
    }

    /// <summary>Copies what is buffered; false when there is nothing yet and the read must wait.</summary>
    private bool TryTake(in ReadResult result, Span<byte> destination, out int count)
    {
        var data = result.Buffer;
        if (!data.IsEmpty)
        {
            if (destination.IsEmpty)
            {
                // A zero-byte read only waits for data; leave it unexamined so the next read returns it at once.
                _input.AdvanceTo(data.Start);
                count = 0;
                return true;
            }

            count = (int)Math.Min(destination.Length, data.Length);
            data.Slice(0, count).CopyTo(destination);
            _input.AdvanceTo(data.GetPosition(count));
            return true;
        }

        _input.AdvanceTo(data.End);
        count = 0;
        if (result.IsCompleted)
        {
            PeerClosed = true;
            return true;
        }

        // A cancelled read (handshake timeout, stop) reads as end of stream.
        return result.IsCanceled;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
        => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _output.Write(buffer.Span);
        return FlushEachWrite ? FlushCoreAsync(cancellationToken) : default;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count)
    {
        _output.Write(buffer.AsSpan(offset, count));
        if (FlushEachWrite)
        {
            Flush();
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => FlushCoreAsync(cancellationToken).AsTask();

    public override void Flush() => FlushCoreAsync(default).AsTask().GetAwaiter().GetResult();

    private ValueTask FlushCoreAsync(CancellationToken cancellationToken)
    {
        var flush = _output.FlushAsync(cancellationToken);
        if (flush.IsCompletedSuccessfully)
        {
            Check(flush.Result);
            return default;
        }

        return AwaitFlushAsync(flush);

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
        static async ValueTask AwaitFlushAsync(ValueTask<FlushResult> pending) => Check(await pending.ConfigureAwait(false));
    }

    private static void Check(FlushResult result)
    {
        if (result.IsCompleted || result.IsCanceled)
        {
            ThrowClosed();
        }
    }

    private static void ThrowClosed() => throw new IOException("The transport closed the connection.");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && _ownsPipes && !_disposed)
        {
            _disposed = true;
            _output.Complete();
            _input.Complete();
        }

        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
        return default;
    }
}
