using System.Runtime.InteropServices;

namespace Hyperion.Native;

/// <summary>
/// An epoll instance (epoll(7)) and its event buffer, for the epoll transport loop: the loop used where io_uring
/// is unavailable (old kernels, seccomp profiles that block io_uring_setup). Each registration carries a 64-bit
/// token that comes back with its events.
/// </summary>
public sealed unsafe class EpollSet : IDisposable
{
    /// <summary>EPOLLIN: readable (or a listener has a connection waiting).</summary>
    public const uint In = 0x001;

    /// <summary>EPOLLOUT: writable again.</summary>
    public const uint Out = 0x004;

    /// <summary>EPOLLERR: an error is pending on the socket.</summary>
    public const uint Error = 0x008;

    /// <summary>EPOLLHUP: both directions are shut.</summary>
    public const uint HangUp = 0x010;

    /// <summary>EPOLLRDHUP: the peer shut its sending side.</summary>
    public const uint PeerHangUp = 0x2000;

    /// <summary>EPOLLET: report state changes only, so a ready socket must be drained before the next event.</summary>
    public const uint EdgeTriggered = 1u << 31;

    private const int CtlAdd = 1;
    private const int CtlDel = 2;
    private const int CtlMod = 3;

    // struct epoll_event is packed on x86-64 (12 bytes) and naturally aligned elsewhere (16 bytes).
    internal static readonly int Stride = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    internal static readonly int DataOffset = Stride == 12 ? 4 : 8;

    private readonly byte* _events;
    private int _fd;

    /// <summary>Creates the epoll instance with room for <paramref name="capacity"/> events per wait.</summary>
    public EpollSet(int capacity)
    {
        _fd = Libc.EpollCreate1(Libc.EpollCloexec);
        if (_fd < 0)
        {
            throw Failed("epoll_create1", Libc.LastErrno);
        }

        Capacity = capacity;
        _events = (byte*)NativeMemory.AllocZeroed((nuint)(capacity * Stride));
    }

    /// <summary>How many events one <see cref="Wait"/> can return.</summary>
    public int Capacity { get; }

    /// <summary>Watches <paramref name="fd"/> for <paramref name="events"/>; the events come back with <paramref name="token"/>.</summary>
    public void Add(int fd, uint events, ulong token) => Control(CtlAdd, fd, events, token, "epoll_ctl(ADD)");

    /// <summary>Changes what <paramref name="fd"/> is watched for.</summary>
    public void Modify(int fd, uint events, ulong token) => Control(CtlMod, fd, events, token, "epoll_ctl(MOD)");

    /// <summary>Stops watching <paramref name="fd"/> (closing the last descriptor of a file also does this).</summary>
    public void Remove(int fd)
    {
        byte* ev = stackalloc byte[16];
        Libc.EpollCtl(_fd, CtlDel, fd, ev);
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> (0: do not wait, -1: forever); returns how many events are ready (0 on timeout or EINTR).</summary>
    public int Wait(int timeoutMs)
    {
        int n = Libc.EpollWait(_fd, _events, Capacity, timeoutMs);
        if (n < 0)
        {
            int errno = Libc.LastErrno;
            return errno == Libc.EINTR ? 0 : throw Failed("epoll_wait", errno);
        }

        return n;
    }

    /// <summary>The flags of ready event <paramref name="index"/> from the last <see cref="Wait"/>.</summary>
    public uint EventsAt(int index) => *(uint*)(_events + (index * Stride));

    /// <summary>The token of ready event <paramref name="index"/> from the last <see cref="Wait"/>.</summary>
    public ulong TokenAt(int index) => Unaligned(_events + (index * Stride) + DataOffset);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_fd >= 0)
        {
            Libc.Close(_fd);
            _fd = -1;
            NativeMemory.Free(_events);
        }
    }

    private static IOException Failed(string what, int errno) => new($"{what} failed: errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)})");

    private static ulong Unaligned(byte* p) => System.Runtime.CompilerServices.Unsafe.ReadUnaligned<ulong>(p);

    private void Control(int op, int fd, uint events, ulong token, string what)
    {
        byte* ev = stackalloc byte[16];
        *(uint*)ev = events;
        System.Runtime.CompilerServices.Unsafe.WriteUnaligned(ev + DataOffset, token);
        if (Libc.EpollCtl(_fd, op, fd, ev) != 0)
        {
            throw Failed(what, Libc.LastErrno);
        }
    }
}
