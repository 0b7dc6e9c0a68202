namespace Hyperion.Tests.Grpc.Interop;

/// <summary>A theory skipped, with the reason, when node or the npm-installed @grpc/grpc-js is absent.</summary>
public sealed class RequiresGrpcJsTheoryAttribute : TheoryAttribute
{
    public RequiresGrpcJsTheoryAttribute() => Skip = InteropClients.GrpcJsSkipReason;
}
