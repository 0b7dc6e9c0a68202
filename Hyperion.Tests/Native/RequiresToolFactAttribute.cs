namespace Hyperion.Tests.Native;

/// <summary>A fact skipped, with a reason, when a command-line tool it needs is not on PATH.</summary>
public sealed class RequiresToolFactAttribute : FactAttribute
{
    public RequiresToolFactAttribute(string tool)
    {
        if (!ToolLocator.Exists(tool))
        {
            Skip = $"'{tool}' is not installed (.ci/run installs it with apt-get)";
        }
    }
}

public static class ToolLocator
{
    public static bool Exists(string tool)
        => (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Any(dir => File.Exists(Path.Combine(dir, tool)));
}
