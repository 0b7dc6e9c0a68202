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
    /// <c>SERVICE_UNKNOWN</c>. Calling it again returns the same instance. When a graceful stop begins, the server
    /// (<c>""</c>) and every service bound on it turn NOT_SERVING (Check answers it during the drain) and each Watch
    /// ends with OK after sending that change, so watchers never hold the stop up.
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

            var host = Internal.GrpcHost.For(server);
            var health = new Internal.StoppingHealthService(server.Stopping, () => host.ServiceNames);
            health.SetStatus(string.Empty, HealthCheckResponse.Types.ServingStatus.Serving);
            server.AddGrpcService(health);
            Services.Add(server, health);
            return health;
        }
    }
}
