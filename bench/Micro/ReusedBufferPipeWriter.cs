using System.IO.Pipelines;

namespace Hyperion.Bench.Micro;

/// <summary>A PipeWriter over one reused buffer: the benchmark measures the head writer, not a pipe's bookkeeping.</summary>
internal sealed class ReusedBufferPipeWriter(int size) : PipeWriter
{
    private readonly byte[] _buffer = new byte[size];

    public int Written { get; private set; }

    public void Reset() => Written = 0;

    public override void Advance(int bytes) => Written += bytes;

    public override Memory<byte> GetMemory(int sizeHint = 0) => _buffer.AsMemory(Written);

    public override Span<byte> GetSpan(int sizeHint = 0) => _buffer.AsSpan(Written);

    public override void CancelPendingFlush()
    {
    }

    public override void Complete(Exception? exception = null)
    {
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => new(new FlushResult(false, false));
}
