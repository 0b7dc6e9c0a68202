using System.Diagnostics;

namespace Hyperion.Tests.Http2.Hpack;

/// <summary>
/// A fact skipped, with a reason, when Debian's /usr/bin/python3 with the <c>hpack</c> package (installed with
/// python3-h2) is absent.
/// </summary>
public sealed class RequiresSystemPythonFactAttribute : FactAttribute
{
    public const string Path = "/usr/bin/python3";

    private static readonly Lazy<bool> HasHpack = new(Probe);

    public RequiresSystemPythonFactAttribute()
    {
        if (!HasHpack.Value)
        {
            Skip = $"'{Path}' with the hpack package is not installed (.ci/run installs python3-h2 with apt-get)";
        }
    }

    private static bool Probe()
    {
        if (!File.Exists(Path))
        {
            return false;
        }

        using var process = Process.Start(new ProcessStartInfo(Path, ["-c", "import hpack"])
        {
            UseShellExecute = false,
            RedirectStandardError = true,
        })!;
        if (!process.WaitForExit(10_000))
        {
            process.Kill();
            return false;
        }

        return process.ExitCode == 0;
    }
}
