using System.Runtime.InteropServices;

namespace Hyperion.Native;

/// <summary>
/// A provided-buffer ring (IORING_REGISTER_PBUF_RING, 5.19): the kernel picks a free buffer for each
/// receive, so an idle connection holds none. Buffers go back with <see cref="Recycle"/>.
/// </summary>
public sealed unsafe class ProvidedBufferRing : IDisposable
{
    private readonly IoUringRing _ring;
    private readonly IoUringBuf* _entries;
    private readonly nuint _ringBytes;
    private readonly byte* _slab;
    private readonly ushort _mask;
    private ushort _tail;
    private bool _disposed;

    /// <summary>Registers <paramref name="count"/> (a power of two) buffers of <paramref name="bufferSize"/> bytes as group <paramref name="groupId"/>.</summary>
    public ProvidedBufferRing(IoUringRing ring, ushort groupId, ushort count, int bufferSize)
    {
        if (count == 0 || (count & (count - 1)) != 0)
        {
            throw new ArgumentException("The buffer count must be a power of two.", nameof(count));
        }

        _ring = ring;
        GroupId = groupId;
        Count = count;
        BufferSize = bufferSize;
        _mask = (ushort)(count - 1);
        _ringBytes = (nuint)(count * sizeof(IoUringBuf));
        void* mem = Libc.Mmap(null, _ringBytes, Libc.ProtRead | Libc.ProtWrite, Libc.MapPrivate | Libc.MapAnonymous, -1, 0);
        if (mem == (void*)-1)
        {
            throw new IoUringException("mmap of the buffer ring", Libc.LastErrno);
        }

        _entries = (IoUringBuf*)mem;
        _slab = (byte*)NativeMemory.AlignedAlloc((nuint)count * (nuint)bufferSize, 4096);
        var reg = new IoUringBufReg { RingAddr = (ulong)mem, RingEntries = count, Bgid = groupId };
        int r = ring.Register(OpFlags.RegisterPbufRing, &reg, 1);
        if (r < 0)
        {
            NativeMemory.AlignedFree(_slab);
            Libc.Munmap(mem, _ringBytes);
            throw new IoUringException("IORING_REGISTER_PBUF_RING", -r);
        }

        for (ushort i = 0; i < count; i++)
        {
            Add(i);
        }

        Publish();
    }

    /// <summary>The buffer group id to put in SQEs.</summary>
    public ushort GroupId { get; }

    /// <summary>Number of buffers.</summary>
    public ushort Count { get; }

    /// <summary>Size of each buffer.</summary>
    public int BufferSize { get; }

    /// <summary>The first <paramref name="length"/> bytes of buffer <paramref name="bufferId"/>.</summary>
    public Span<byte> GetBuffer(ushort bufferId, int length) => new(_slab + ((nuint)bufferId * (nuint)BufferSize), length);

    /// <summary>Gives buffer <paramref name="bufferId"/> back to the kernel (visible after <see cref="Publish"/>).</summary>
    public void Recycle(ushort bufferId) => Add(bufferId);

    /// <summary>Makes recycled buffers visible to the kernel (a release store of the tail).</summary>
    public void Publish()
    {
        // The tail lives in the resv field of entry 0 (offset 14), per struct io_uring_buf_ring.
        Volatile.Write(ref *(ushort*)((byte*)_entries + 14), _tail);
    }

    private void Add(ushort bufferId)
    {
        var e = &_entries[_tail & _mask];
        e->Addr = (ulong)(_slab + ((nuint)bufferId * (nuint)BufferSize));
        e->Len = (uint)BufferSize;
        e->Bid = bufferId;
        _tail++;
    }

    /// <summary>Unregisters the group and frees the memory.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        var reg = new IoUringBufReg { Bgid = GroupId };
        _ring.Register(OpFlags.UnregisterPbufRing, &reg, 1);
        Libc.Munmap(_entries, _ringBytes);
        NativeMemory.AlignedFree(_slab);
    }
}
