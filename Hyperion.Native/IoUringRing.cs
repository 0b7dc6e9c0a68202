using System.Runtime.CompilerServices;

namespace Hyperion.Native;

/// <summary>
/// One io_uring instance: the SQ ring, CQ ring and SQE array mapped into this process. Not thread-safe:
/// one thread owns a ring (that is what SINGLE_ISSUER promises the kernel).
/// </summary>
public sealed unsafe class IoUringRing : IDisposable
{
    private readonly int _fd;
    private readonly byte* _sqRing;
    private readonly nuint _sqRingSize;
    private readonly byte* _cqRing;
    private readonly nuint _cqRingSize;
    private readonly IoUringSqe* _sqes;
    private readonly nuint _sqesSize;
    private readonly uint* _sqHead;
    private readonly uint* _sqTail;
    private readonly uint* _sqArray;
    private readonly uint _sqMask;
    private readonly uint _sqEntries;
    private readonly uint* _cqHead;
    private readonly uint* _cqTail;
    private readonly uint _cqMask;
    private readonly IoUringCqe* _cqes;
    private uint _sqeTail;
    private uint _sqeHead;
    private bool _disposed;

    private IoUringRing(int fd, in IoUringParams p)
    {
        _fd = fd;
        SetupFlags = p.Flags;
        Features = p.Features;
        SqEntries = p.SqEntries;
        CqEntries = p.CqEntries;
        _sqRingSize = p.SqOff.Array + (p.SqEntries * sizeof(uint));
        _cqRingSize = p.CqOff.Cqes + (p.CqEntries * (uint)sizeof(IoUringCqe));
        bool single = (p.Features & Native.Features.SingleMmap) != 0;
        if (single)
        {
            _sqRingSize = _cqRingSize = Math.Max(_sqRingSize, _cqRingSize);
        }

        _sqRing = (byte*)Map(_sqRingSize, OpFlags.OffSqRing);
        _cqRing = single ? _sqRing : (byte*)Map(_cqRingSize, OpFlags.OffCqRing);
        _sqesSize = p.SqEntries * (nuint)sizeof(IoUringSqe);
        _sqes = (IoUringSqe*)Map(_sqesSize, OpFlags.OffSqes);

        _sqHead = (uint*)(_sqRing + p.SqOff.Head);
        _sqTail = (uint*)(_sqRing + p.SqOff.Tail);
        _sqArray = (uint*)(_sqRing + p.SqOff.Array);
        _sqMask = *(uint*)(_sqRing + p.SqOff.RingMask);
        _sqEntries = *(uint*)(_sqRing + p.SqOff.RingEntries);
        _cqHead = (uint*)(_cqRing + p.CqOff.Head);
        _cqTail = (uint*)(_cqRing + p.CqOff.Tail);
        _cqMask = *(uint*)(_cqRing + p.CqOff.RingMask);
        _cqes = (IoUringCqe*)(_cqRing + p.CqOff.Cqes);
        _sqeTail = _sqeHead = *_sqTail;
    }

    /// <summary>The ring's file descriptor.</summary>
    public int Fd => _fd;

    /// <summary>The IORING_SETUP_* flags the ring was created with.</summary>
    public uint SetupFlags { get; }

    /// <summary>The IORING_FEAT_* bits the kernel reported.</summary>
    public uint Features { get; }

    /// <summary>Submission queue size.</summary>
    public uint SqEntries { get; }

    /// <summary>Completion queue size.</summary>
    public uint CqEntries { get; }

    /// <summary>SQEs prepared and not yet submitted.</summary>
    public uint Pending => _sqeTail - _sqeHead;

    /// <summary>Creates a ring with exactly <paramref name="flags"/>; throws <see cref="IoUringException"/> when the kernel refuses.</summary>
    public static IoUringRing Create(uint entries, uint flags)
    {
        var p = default(IoUringParams);
        p.Flags = flags;
        long fd = Libc.Syscall(Libc.SysIoUringSetup, entries, (long)&p, 0, 0, 0, 0);
        if (fd < 0)
        {
            throw new IoUringException("io_uring_setup", Libc.LastErrno);
        }

        try
        {
            return new IoUringRing((int)fd, p);
        }
        catch
        {
            Libc.Close((int)fd);
            throw;
        }
    }

    /// <summary>
    /// Creates a ring with the best flags this kernel accepts: SINGLE_ISSUER|DEFER_TASKRUN (6.1), then
    /// SINGLE_ISSUER|COOP_TASKRUN, then none. Must be called on the thread that will own the ring.
    /// </summary>
    public static IoUringRing CreateBest(uint entries)
    {
        uint[] candidates =
        [
            Native.SetupFlags.SingleIssuer | Native.SetupFlags.DeferTaskrun,
            Native.SetupFlags.SingleIssuer | Native.SetupFlags.CoopTaskrun,
            0,
        ];
        IoUringException? last = null;
        foreach (var flags in candidates)
        {
            try
            {
                return Create(entries, flags);
            }
            catch (IoUringException ex) when (ex.Errno == Libc.EINVAL)
            {
                last = ex;
            }
        }

        throw last!;
    }

    /// <summary>The next free SQE, zeroed; null when the submission queue is full (submit, then retry).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public IoUringSqe* GetSqe()
    {
        uint head = Volatile.Read(ref *_sqHead);
        if (_sqeTail - head >= _sqEntries)
        {
            return null;
        }

        var sqe = &_sqes[_sqeTail & _sqMask];
        *sqe = default;
        _sqeTail++;
        return sqe;
    }

    /// <summary>
    /// Publishes every prepared SQE and enters the kernel once: submits them and, when
    /// <paramref name="waitFor"/> &gt; 0, waits for that many completions. Returns the number submitted.
    /// EINTR is retried; EBUSY/EAGAIN (completion queue full) returns 0 so the caller reaps first.
    /// </summary>
    public int SubmitAndWait(uint waitFor)
    {
        uint toSubmit = _sqeTail - _sqeHead;
        while (_sqeHead != _sqeTail)
        {
            _sqArray[_sqeHead & _sqMask] = _sqeHead & _sqMask;
            _sqeHead++;
        }

        // Release: the kernel must see the SQEs and array entries before the new tail.
        Volatile.Write(ref *_sqTail, _sqeTail);
        uint flags = waitFor > 0 || (SetupFlags & Native.SetupFlags.DeferTaskrun) != 0 ? EnterFlags.GetEvents : 0;
        while (true)
        {
            long r = Libc.Syscall(Libc.SysIoUringEnter, _fd, toSubmit, waitFor, flags, 0, 0);
            if (r >= 0)
            {
                return (int)r;
            }

            int errno = Libc.LastErrno;
            if (errno == Libc.EINTR)
            {
                continue;
            }

            if (errno is Libc.EBUSY or Libc.EAGAIN)
            {
                return 0;
            }

            throw new IoUringException("io_uring_enter", errno);
        }
    }

    /// <summary>Takes the next completion, if any.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetCompletion(out IoUringCqe cqe)
    {
        uint head = *_cqHead;

        // Acquire: read the tail before the entry the kernel wrote under it.
        if (head == Volatile.Read(ref *_cqTail))
        {
            cqe = default;
            return false;
        }

        cqe = _cqes[head & _cqMask];
        Volatile.Write(ref *_cqHead, head + 1);
        return true;
    }

    /// <summary>io_uring_register(2) on this ring.</summary>
    public int Register(uint opcode, void* arg, uint count)
    {
        long r = Libc.Syscall(Libc.SysIoUringRegister, _fd, opcode, (long)arg, count, 0, 0);
        return r < 0 ? -Libc.LastErrno : (int)r;
    }

    private void* Map(nuint size, ulong offset)
    {
        void* p = Libc.Mmap(null, size, Libc.ProtRead | Libc.ProtWrite, Libc.MapShared | Libc.MapPopulate, _fd, (long)offset);
        if (p == (void*)-1)
        {
            throw new IoUringException("mmap of io_uring ring", Libc.LastErrno);
        }

        return p;
    }

    /// <summary>Unmaps the rings and closes the ring fd; outstanding operations are cancelled by the kernel.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Libc.Munmap(_sqes, _sqesSize);
        if (_cqRing != _sqRing)
        {
            Libc.Munmap(_cqRing, _cqRingSize);
        }

        Libc.Munmap(_sqRing, _sqRingSize);
        Libc.Close(_fd);
    }
}
