using Microsoft.Win32.SafeHandles;

namespace Hyperion.Internal.Files;

/// <summary>What a resolved path below a file root names.</summary>
internal enum LookupKind
{
    /// <summary>Nothing servable: missing, not a regular file, or (through a link) outside the root.</summary>
    NotFound,

    /// <summary>A directory under the root.</summary>
    Directory,

    /// <summary>A regular file under the root, opened.</summary>
    File,
}

/// <summary>An opened regular file and the facts about it that validators are built from, read from its descriptor.</summary>
internal readonly record struct OpenedFile(SafeFileHandle Handle, long Size, long MtimeSeconds, uint MtimeNanoseconds);

/// <summary>
/// Opens files below a root so that what is checked is what is sent: the descriptor is opened first, then its type and
/// its real path (/proc/self/fd, i.e. after every symbolic link, as the kernel resolved this open) are checked, and
/// the same descriptor becomes the body. Swapping a component for a symbolic link between a check and the open cannot
/// escape the root, and a fifo cannot block the open (O_NONBLOCK).
/// </summary>
internal sealed class FileLookup
{
    private readonly string _rootReal;
    private readonly bool _allowOutside;

    public FileLookup(string root, bool allowOutside)
    {
        var full = Path.GetFullPath(root);
        _rootReal = (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() ? NativeFiles.RealPath(full) : full)
            ?? throw new DirectoryNotFoundException($"The static file root '{full}' does not exist.");
        if (!System.IO.Directory.Exists(_rootReal))
        {
            throw new DirectoryNotFoundException($"The static file root '{full}' is not a directory.");
        }

        _rootReal = Path.TrimEndingDirectorySeparator(_rootReal);
        _allowOutside = allowOutside;
    }

    /// <summary>Looks up <paramref name="relative"/> (clean segments joined with '/', see <see cref="RequestPathRules"/>).</summary>
    public LookupKind Find(string relative, out OpenedFile file)
    {
        file = default;
        string candidate = relative.Length == 0 ? _rootReal : Path.Join(_rootReal, relative);
        return OperatingSystem.IsLinux() && NativeFiles.HasStatx ? FindLinux(candidate, out file) : FindManaged(candidate, out file);
    }

    private LookupKind FindLinux(string candidate, out OpenedFile file)
    {
        file = default;
        if (!NativeFiles.TryStat(candidate, out var before))
        {
            return LookupKind.NotFound;
        }

        if (before.IsDirectory)
        {
            return IsInside(NativeFiles.RealPath(candidate)) ? LookupKind.Directory : LookupKind.NotFound;
        }

        if (!before.IsRegular)
        {
            // Devices, fifos, sockets: never opened for a client.
            return LookupKind.NotFound;
        }

        int fd = NativeFiles.OpenForReading(candidate);
        if (fd < 0)
        {
            return LookupKind.NotFound;
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (!NativeFiles.TryStat(fd, out var opened) || !opened.IsRegular || !opened.SameFile(before) || !IsInside(RealPathOf(fd, candidate)))
        {
            handle.Dispose();
            return LookupKind.NotFound;
        }

        file = new OpenedFile(handle, (long)opened.Size, opened.MtimeSeconds, opened.MtimeNanoseconds);
        return LookupKind.File;
    }

    /// <summary>
    /// Other systems (and a libc without statx): realpath(3) containment, then a managed open; fifos are not told apart
    /// there, and Windows paths get no link resolution.
    /// </summary>
    private LookupKind FindManaged(string candidate, out OpenedFile file)
    {
        file = default;
        string? real = OperatingSystem.IsMacOS() || OperatingSystem.IsLinux() ? NativeFiles.RealPath(candidate) : (File.Exists(candidate) || System.IO.Directory.Exists(candidate) ? Path.GetFullPath(candidate) : null);
        if (real is null || !IsInside(real))
        {
            return LookupKind.NotFound;
        }

        if (System.IO.Directory.Exists(real))
        {
            return LookupKind.Directory;
        }

        try
        {
            var handle = File.OpenHandle(real, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
            var modified = new DateTimeOffset(File.GetLastWriteTimeUtc(handle));
            long ticks = modified.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
            file = new OpenedFile(handle, RandomAccess.GetLength(handle), ticks / TimeSpan.TicksPerSecond, (uint)(ticks % TimeSpan.TicksPerSecond * 100));
            return LookupKind.File;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return LookupKind.NotFound;
        }
    }

    private static string? RealPathOf(int fd, string candidate)
    {
        try
        {
            // What this descriptor really is, whatever happened to the path since.
            if (new FileInfo($"/proc/self/fd/{fd}").LinkTarget is { } target)
            {
                return target;
            }
        }
        catch (IOException)
        {
            // No /proc: fall back to the path (a narrower race, still checked).
        }

        return NativeFiles.RealPath(candidate);
    }

    private bool IsInside(string? real)
    {
        if (_allowOutside)
        {
            return real is not null;
        }

        if (real is null)
        {
            return false;
        }

        if (_rootReal == "/")
        {
            return real.StartsWith('/');
        }

        return real.Length == _rootReal.Length
            ? real == _rootReal
            : real.Length > _rootReal.Length && real[_rootReal.Length] == '/' && real.StartsWith(_rootReal, StringComparison.Ordinal);
    }
}
