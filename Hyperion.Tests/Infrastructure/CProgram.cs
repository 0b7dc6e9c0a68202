using System.Globalization;
using Xunit.Abstractions;

namespace Hyperion.Tests.Infrastructure;

/// <summary>Compiles a C program with gcc and runs it: the kernel ABI tests print "key value" lines from the real headers.</summary>
public static class CProgram
{
    /// <summary>Compiles and runs <paramref name="source"/>; returns its output lines as key → number.</summary>
    public static async Task<Dictionary<string, long>> RunAsync(string source, ITestOutputHelper output)
    {
        var dir = Directory.CreateTempSubdirectory("hyperion-abi-");
        try
        {
            var src = Path.Combine(dir.FullName, "abi.c");
            var exe = Path.Combine(dir.FullName, "abi");
            await File.WriteAllTextAsync(src, source);
            var (code, outText, errText) = await ToolProcess.RunAsync("gcc", "-o", exe, src);
            code.Should().Be(0, "the C program must compile: " + errText);
            (code, outText, errText) = await ToolProcess.RunAsync(exe);
            code.Should().Be(0, errText);
            output.WriteLine(outText);
            return outText.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' '))
                .ToDictionary(p => p[0], p => long.Parse(p[1], CultureInfo.InvariantCulture));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
