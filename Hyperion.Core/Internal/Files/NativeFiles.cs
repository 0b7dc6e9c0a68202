using System.Runtime.InteropServices;

namespace Hyperion.Internal.Files;

/// <summary>
/// The libc calls static files need on Linux: statx(2) to tell regular files from directories, devices and fifos
/// (FileSystemInfo cannot), open(2) with O_NONBLOCK so a fifo put in the tree cannot block a loop thread, and
/// realpath(3) for the root. struct statx has the same layout on every Linux architecture.
/// </summary>
internal static unsafe partial class NativeFiles
{
    public const int AtFdCwd = -100;
    public const int AtEmptyPath = 0x1000;
    public const uint StatxBasic = 0x7ff;
    public const int ORdOnlyNonBlockCloExecNoCtty = 0x800 | 0x80000 | 0x100;
    public const ushort TypeMask = 0xF000;
    public const ushort TypeRegular = 0x8000;
    public const ushort TypeDirectory = 0x4000;

    [StructLayout(LayoutKind.Explicit, Size = 256)]
    public struct Statx
    {
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(32)] public ulong Inode;
        [FieldOffset(40)] public ulong Size;
        [FieldOffset(112)] public long MtimeSeconds;
        [FieldOffset(120)] public uint MtimeNanoseconds;
        [FieldOffset(136)] public uint DevMajor;
        [FieldOffset(140)] public uint DevMinor;

        public readonly bool IsRegular => (Mode & TypeMask) == TypeRegular;

        public readonly bool IsDirectory => (Mode & TypeMask) == TypeDirectory;

        public readonly bool SameFile(in Statx other) => Inode == other.Inode && DevMajor == other.DevMajor && DevMinor == other.DevMinor;
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatxCall(int dirFd, string path, int flags, uint mask, Statx* buffer);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenCall(string path, int flags);

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint RealPathCall(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(nint pointer);

    private static int _statx;

    /// <summary>True when libc has statx(3) (glibc 2.28+, musl 1.2.5+); without it lookups take the managed path.</summary>
    public static bool HasStatx
    {
        get
        {
            if (_statx == 0)
            {
                try
                {
                    TryStat("/", out _);
                    _statx = 1;
                }
                catch (EntryPointNotFoundException)
                {
                    _statx = -1;
                }
            }

            return _statx > 0;
        }
    }

    /// <summary>stat of <paramref name="path"/>, following symbolic links; false when it cannot be read.</summary>
    public static bool TryStat(string path, out Statx result)
    {
        Statx buffer;
        bool ok = StatxCall(AtFdCwd, path, 0, StatxBasic, &buffer) == 0;
        result = buffer;
        return ok;
    }

    /// <summary>fstat of an open descriptor.</summary>
    public static bool TryStat(int fd, out Statx result)
    {
        Statx buffer;
        bool ok = StatxCall(fd, string.Empty, AtEmptyPath, StatxBasic, &buffer) == 0;
        result = buffer;
        return ok;
    }

    /// <summary>open(2) for reading without blocking on a fifo and without becoming a controlling terminal; -1 on failure.</summary>
    public static int OpenForReading(string path) => OpenCall(path, ORdOnlyNonBlockCloExecNoCtty);

    /// <summary>realpath(3): the canonical absolute path, every symbolic link resolved; null when it does not exist.</summary>
    public static string? RealPath(string path)
    {
        nint resolved = RealPathCall(path, 0);
        if (resolved == 0)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            Free(resolved);
        }
    }
}
