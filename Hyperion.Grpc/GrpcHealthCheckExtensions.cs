using System.Runtime.CompilerServices;
using Grpc.Health.V1;
using Grpc.HealthCheck;

namespace Hyperion.Grpc;

/// <summary>The standard health service, <c>grpc.health.v1.Health</c> (grpc doc/health-checking.md), opt-in.</summary>
public static class GrpcHealthCheckExtensions
{
    private static readonly ConditionalWeakTable<HyperionServer, HealthServiceImpl> Services = [];

    /// <summary>
    /// Serves <c>grpc.health.v1.Health</c> (Check and Watch) with Grpc.HealthCheck's <see cref="HealthServiceImpl"/> and
    /// returns it, so the app reports each service with <see cref="HealthServiceImpl.SetStatus"/> (the name is the
    /// service's full name, e.g. <c>greet.Greeter</c>) and Watch streams see every change. The server as a whole, the
    /// empty name, starts <c>SERVING</c>. A name never set answers Check with NOT_FOUND and Watch with
    /// <c>SERVICE_UNKNOWN</c>. Calling it again returns the same instance.
    /// </summary>
    public static HealthServiceImpl AddGrpcHealthChecks(this HyperionServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        lock (Services)
        {
            if (Services.TryGetValue(server, out var existing))
            {
                return existing;
            }

            var health = new HealthServiceImpl();
            health.SetStatus(string.Empty, HealthCheckResponse.Types.ServingStatus.Serving);
            server.AddGrpcService(health);
            Services.Add(server, health);
            return health;
        }
    }
}
