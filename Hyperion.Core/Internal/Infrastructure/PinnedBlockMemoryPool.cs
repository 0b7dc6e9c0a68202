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

    public override int MaxBufferSize => BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize)
        {
            throw new ArgumentOutOfRangeException(nameof(minBufferSize), minBufferSize, $"Blocks are {BlockSize} bytes.");
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
