namespace Hyperion.Tests.Http2;

/// <summary>A theory skipped, with the reason, when python3-h2 is absent.</summary>
public sealed class RequiresPythonH2TheoryAttribute : TheoryAttribute
{
    public RequiresPythonH2TheoryAttribute() => Skip = PythonH2.SkipReason;
}
