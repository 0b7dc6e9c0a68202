namespace Hyperion.Tests.Http2.Hpack;

/// <summary>A fact skipped, with a reason, when Debian's /usr/bin/python3 (where python3-h2 installs) is absent.</summary>
public sealed class RequiresSystemPythonFactAttribute : FactAttribute
{
    public const string Path = "/usr/bin/python3";

    public RequiresSystemPythonFactAttribute()
    {
        if (!File.Exists(Path))
        {
            Skip = $"'{Path}' is not installed (.ci/run installs python3-h2 with apt-get)";
        }
    }
}
