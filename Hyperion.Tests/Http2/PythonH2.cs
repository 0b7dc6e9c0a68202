using System.Diagnostics;

namespace Hyperion.Tests.Http2;

/// <summary>Whether Debian's /usr/bin/python3 can import <c>h2</c> (python3-h2), probed once.</summary>
public static class PythonH2
{
    public const string Python = "/usr/bin/python3";

    private static readonly Lazy<bool> Probe = new(() =>
    {
        if (!File.Exists(Python))
        {
            return false;
        }

        using var p = Process.Start(new ProcessStartInfo(Python, ["-c", "import h2"]) { UseShellExecute = false, RedirectStandardError = true })!;
        if (!p.WaitForExit(10_000))
        {
            p.Kill();
            return false;
        }

        return p.ExitCode == 0;
    });

    public static string? SkipReason => Probe.Value ? null : $"'{Python}' with the h2 module is not installed (.ci/run installs python3-h2 with apt-get)";
}
