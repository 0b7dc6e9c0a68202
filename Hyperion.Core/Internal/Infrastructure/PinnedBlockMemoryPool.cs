using System.Buffers;
using System.Collections.Concurrent;

namespace Hyperion.Internal.Infrastructure;

/// <summary>
/// Fixed-size blocks of pinned memory for the connection pipes. Pinned so the socket layer never has
/// to pin per I/O; pooled (the block is its own owner) so steady-state reads and writes allocate nothing.
/// </summary>
internal sealed class PinnedBlockMemoryPool : MemoryPool<byte>
{
    public const int BlockSize = 4096;

    private readonly ConcurrentQueue<Block> _blocks = new();
    private bool _disposed;
    private long _rented;
    private long _peakRented;

    public override int MaxBufferSize => BlockSize;

    /// <summary>Bytes in blocks out of the pool now: what connections buffer (input, unsent output) in this server.</summary>
    public long RentedBytes => Volatile.Read(ref _rented) * BlockSize;

    /// <summary>The most <see cref="RentedBytes"/> has been since the last <see cref="ResetPeak"/>.</summary>
    public long PeakRentedBytes => Volatile.Read(ref _peakRented) * BlockSize;

    public void ResetPeak() => Volatile.Write(ref _peakRented, Volatile.Read(ref _rented));

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize)
        {
            throw new ArgumentOutOfRangeException(nameof(minBufferSize), minBufferSize, $"Blocks are {BlockSize} bytes.");
        }

        long rented = Interlocked.Increment(ref _rented);
        long peak = Volatile.Read(ref _peakRented);
        while (rented > peak && Interlocked.CompareExchange(ref _peakRented, rented, peak) is var seen && seen != peak)
        {
            peak = seen;
        }

        if (_blocks.TryDequeue(out var block))
        {
            block.Rented = true;
            return block;
        }

        return new Block(this) { Rented = true };
    }

    private void Return(Block block)
    {
        Interlocked.Decrement(ref _rented);
        if (!_disposed)
        {
            _blocks.Enqueue(block);
        }
    }

    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        _blocks.Clear();
    }

    private sealed class Block : IMemoryOwner<byte>
    {
        private readonly PinnedBlockMemoryPool _pool;

        public Block(PinnedBlockMemoryPool pool)
        {
            _pool = pool;
            Memory = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);
        }

        public bool Rented { get; set; }

        public Memory<byte> Memory { get; }

        public void Dispose()
        {
            if (Rented)
            {
                Rented = false;
                _pool.Return(this);
            }
        }
    }
}
