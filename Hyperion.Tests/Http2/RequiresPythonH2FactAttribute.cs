namespace Hyperion.Tests.Http2;

/// <summary>A fact skipped, with the reason, when python3-h2 is absent.</summary>
public sealed class RequiresPythonH2FactAttribute : FactAttribute
{
    public RequiresPythonH2FactAttribute() => Skip = PythonH2.SkipReason;
}
