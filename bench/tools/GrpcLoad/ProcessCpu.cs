using System.Globalization;

namespace GrpcLoad;

/// <summary>Another process's CPU time, read as bench/lib.sh's group_cpu reads it: utime + stime from /proc/PID/stat.</summary>
internal static class ProcessCpu
{
    private const double ClockTicksPerSecond = 100;   // USER_HZ: 100 on every Linux ABI .NET runs on

    public static double Seconds(int pid)
    {
        if (pid <= 0)
        {
            return 0;
        }

        string stat = File.ReadAllText($"/proc/{pid}/stat");
        // Fields after "(comm) ": state is the 1st, utime the 12th, stime the 13th (proc(5) numbers them 14 and 15).
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / ClockTicksPerSecond;
    }
}
