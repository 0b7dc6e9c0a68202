namespace Hyperion.Tests.Grpc.Interop;

/// <summary>A theory skipped, with the reason, when Debian's python3-grpcio is absent.</summary>
public sealed class RequiresPythonGrpcTheoryAttribute : TheoryAttribute
{
    public RequiresPythonGrpcTheoryAttribute() => Skip = InteropClients.PythonSkipReason;
}
