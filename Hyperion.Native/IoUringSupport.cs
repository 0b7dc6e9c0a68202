namespace Hyperion.Native;

/// <summary>Whether this kernel and process can run the HTTP loop on io_uring, and if not, why.</summary>
public static unsafe class IoUringSupport
{
    private static readonly Lazy<(bool Supported, string Reason)> Cached = new(Probe);

    /// <summary>True when io_uring with multishot accept/recv and provided-buffer rings works here (probed once per process).</summary>
    public static bool IsSupported => Cached.Value.Supported;

    /// <summary>Why io_uring is not used (or "available" when it is), from the cached probe.</summary>
    public static string Reason => Cached.Value.Reason;

    /// <summary>Probes now (a ring is created and torn down): whether the HTTP loop can run on io_uring, and why not.</summary>
    public static (bool Supported, string Reason) Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return (false, "not Linux");
        }

        // Multishot recv arrived in 6.0; older kernels accept the flag but fail each receive.
        if (!TryKernelVersion(out var version) || version < new Version(6, 0))
        {
            return (false, $"kernel {version?.ToString() ?? "unknown"} is older than 6.0 (multishot receive)");
        }

        IoUringRing ring;
        try
        {
            ring = IoUringRing.CreateBest(8);
        }
        catch (IoUringException ex)
        {
            return (false, ex.Message);
        }

        using (ring)
        {
            byte* probe = stackalloc byte[16 + (256 * 8)];
            new Span<byte>(probe, 16 + (256 * 8)).Clear();
            if (ring.Register(OpFlags.RegisterProbe, probe, 256) < 0)
            {
                return (false, "IORING_REGISTER_PROBE refused");
            }

            foreach (var op in new[] { IoUringOp.Accept, IoUringOp.Recv, IoUringOp.Send, IoUringOp.Read, IoUringOp.AsyncCancel, IoUringOp.Timeout, IoUringOp.Shutdown })
            {
                byte lastOp = probe[0];
                ushort flags = *(ushort*)(probe + 16 + ((int)op * 8) + 2);
                if ((byte)op > lastOp || (flags & OpFlags.ProbeOpSupported) == 0)
                {
                    return (false, $"opcode {op} not supported");
                }
            }

            try
            {
                using var buffers = new ProvidedBufferRing(ring, 0, 2, 64);
            }
            catch (IoUringException ex)
            {
                return (false, ex.Message);
            }
        }

        return (true, "available");
    }

    private static bool TryKernelVersion(out Version? version)
    {
        version = null;
        try
        {
            var release = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
            var numeric = new string(release.TakeWhile(c => char.IsDigit(c) || c == '.').ToArray()).Trim('.');
            var parts = numeric.Split('.');
            if (parts.Length >= 2 && int.TryParse(parts[0], out int major) && int.TryParse(parts[1], out int minor))
            {
                version = new Version(major, minor);
                return true;
            }
        }
        catch (IOException)
        {
        }

        return false;
    }
}
