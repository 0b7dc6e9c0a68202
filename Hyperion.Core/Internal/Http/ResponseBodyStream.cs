namespace Hyperion.Internal.Http;

/// <summary>
/// <see cref="ResponseBodyWriter.AsStream"/>: a write-only, asynchronous-only stream over a body writer. Disposing it
/// does not end the body; the response ends when its callback returns.
/// </summary>
internal sealed class ResponseBodyStream(ResponseBodyWriter writer) : Stream
{
    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        => writer.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => writer.WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => writer.FlushAsync(cancellationToken).AsTask();

    // Encoders call Flush() from Dispose(); the body is flushed when the callback returns anyway, so it is a no-op
    // rather than a blocking wait on the loop thread.
    public override void Flush()
    {
    }

    public override void Write(byte[] buffer, int offset, int count)
        => throw new NotSupportedException("Response bodies are written asynchronously: use WriteAsync (a synchronous write could block the server's loop thread).");

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
