using System.Buffers.Text;

namespace Hyperion.Native;

/// <summary>
/// How long a thread has waited for a CPU while it was runnable (Linux schedstat's run_delay: preempted by other
/// threads or processes, or held back by a cgroup quota). Read from /proc without allocating.
/// </summary>
public static unsafe class ThreadSchedStat
{
    private static int s_unavailable;

    /// <summary>The calling thread's kernel thread id (gettid(2)); 0 where there is none.</summary>
    public static int CurrentThreadId()
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        try
        {
            return Libc.GetTid();
        }
        catch (EntryPointNotFoundException)
        {
            return 0; // a libc older than 2.30
        }
    }

    /// <summary>Nanoseconds thread <paramref name="threadId"/> of this process (0: the calling thread) has waited for a CPU since it started; -1 when the kernel does not say.</summary>
    /// <remarks>The kernel adds a wait when the thread gets its CPU back: a thread waiting right now has that wait still to come.</remarks>
    public static long RunDelayNanoseconds(int threadId = 0) => TryRead(threadId, out _, out long runDelay) ? runDelay : -1;

    /// <summary>Thread <paramref name="threadId"/>'s (0: the calling thread's) CPU time and run delay in nanoseconds since it started.</summary>
    public static bool TryRead(int threadId, out long cpuNanoseconds, out long runDelayNanoseconds)
    {
        cpuNanoseconds = -1;
        runDelayNanoseconds = -1;
        if (!OperatingSystem.IsLinux() || Volatile.Read(ref s_unavailable) != 0)
        {
            return false;
        }

        // The file is "<cpu ns> <run_delay ns> <timeslices>\n".
        byte* buffer = stackalloc byte[96];
        int n = ReadProcFile(threadId, "/schedstat"u8, buffer, 96);
        if (n <= 0)
        {
            if (n == -Libc.ENOENT && threadId == 0)
            {
                // No schedstat in this kernel (CONFIG_SCHED_INFO off): do not look again.
                Volatile.Write(ref s_unavailable, 1);
            }

            return false;
        }

        var text = new ReadOnlySpan<byte>(buffer, n);
        int space = text.IndexOf((byte)' ');
        return space > 0 && Utf8Parser.TryParse(text[..space], out cpuNanoseconds, out _)
            && Utf8Parser.TryParse(text[(space + 1)..], out runDelayNanoseconds, out _);
    }

    /// <summary>True when thread <paramref name="threadId"/> is running or waiting for a CPU (state R), not asleep or blocked.</summary>
    public static bool IsRunnable(int threadId)
    {
        if (!OperatingSystem.IsLinux() || threadId <= 0)
        {
            return false;
        }

        // "<tid> (<comm>) <state> ...": comm is at most 15 bytes, so the state is well inside 64 bytes.
        byte* buffer = stackalloc byte[64];
        int n = ReadProcFile(threadId, "/stat"u8, buffer, 64);
        if (n <= 0)
        {
            return false;
        }

        var text = new ReadOnlySpan<byte>(buffer, n);
        int close = text.LastIndexOf((byte)')');
        return close >= 0 && close + 2 < n && text[close + 2] == (byte)'R';
    }

    /// <summary>Reads the start of /proc/thread-self/<paramref name="file"/> (or /proc/self/task/&lt;id&gt;/...); the bytes read, or -errno.</summary>
    private static int ReadProcFile(int threadId, ReadOnlySpan<byte> file, byte* buffer, int size)
    {
        byte* path = stackalloc byte[64];
        var span = new Span<byte>(path, 63);
        int length;
        if (threadId == 0)
        {
            "/proc/thread-self"u8.CopyTo(span);
            length = "/proc/thread-self"u8.Length;
        }
        else
        {
            "/proc/self/task/"u8.CopyTo(span);
            length = "/proc/self/task/"u8.Length;
            Utf8Formatter.TryFormat(threadId, span[length..], out int written);
            length += written;
        }

        file.CopyTo(span[length..]);
        length += file.Length;
        path[length] = 0;
        int fd = Libc.Open(path, Libc.ORdonlyCloexec);
        if (fd < 0)
        {
            return -Libc.LastErrno;
        }

        nint n = Libc.Read(fd, buffer, (nuint)size);
        int errno = n < 0 ? Libc.LastErrno : 0;
        Libc.Close(fd);
        return n < 0 ? -errno : (int)n;
    }
}
