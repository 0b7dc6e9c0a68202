using System.Runtime.CompilerServices;
using Grpc.Reflection;
using Hyperion.Grpc.Internal;

namespace Hyperion.Grpc;

/// <summary>gRPC server reflection (grpc doc/server-reflection.md), opt-in, so grpcurl-style tools can list and describe services.</summary>
public static class GrpcReflectionExtensions
{
    private static readonly ConditionalWeakTable<HyperionServer, GrpcReflectionCatalog> Catalogs = [];

    /// <summary>
    /// Serves <c>grpc.reflection.v1.ServerReflection</c> and <c>grpc.reflection.v1alpha.ServerReflection</c> with
    /// Grpc.Reflection's implementations, describing every service registered on this server (before or after this
    /// call), the reflection services themselves included, from the descriptors Grpc.Tools generated for them.
    /// Calling it again changes nothing.
    /// </summary>
    public static HyperionServer AddGrpcReflection(this HyperionServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        lock (Catalogs)
        {
            if (Catalogs.TryGetValue(server, out _))
            {
                return server;
            }

            var catalog = new GrpcReflectionCatalog(GrpcHost.For(server));
            server.AddGrpcService<ReflectionV1ServiceImpl>(() => catalog.V1);
            server.AddGrpcService<ReflectionServiceImpl>(() => catalog.V1Alpha);
            Catalogs.Add(server, catalog);
            return server;
        }
    }
}
