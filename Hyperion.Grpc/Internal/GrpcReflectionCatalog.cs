using System.Reflection;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Reflection;

namespace Hyperion.Grpc.Internal;

/// <summary>
/// What reflection describes: the generated descriptor of every service bound on the server. Grpc.Tools puts a static
/// <c>Descriptor</c> on the service's outer class, the type <see cref="BindServiceMethodAttribute.BindType"/> names
/// (Grpc.AspNetCore.Server.Reflection finds them the same way). Built at the first reflection call, and again only
/// if services were bound since.
/// </summary>
internal sealed class GrpcReflectionCatalog
{
    private readonly GrpcHost _host;
    private readonly Lock _lock = new();
    private int _described = -1;
    private ReflectionV1ServiceImpl? _v1;
    private ReflectionServiceImpl? _v1Alpha;

    public GrpcReflectionCatalog(GrpcHost host) => _host = host;

    public ReflectionV1ServiceImpl V1
    {
        get
        {
            lock (_lock)
            {
                Refresh();
                return _v1!;
            }
        }
    }

    public ReflectionServiceImpl V1Alpha
    {
        get
        {
            lock (_lock)
            {
                Refresh();
                return _v1Alpha!;
            }
        }
    }

    private void Refresh()
    {
        var types = _host.ServiceTypes;
        if (types.Length == _described)
        {
            return;
        }

        var services = Describe(types);
        _v1 = new ReflectionV1ServiceImpl(services);
        _v1Alpha = new ReflectionServiceImpl(services);
        _described = types.Length;
    }

    /// <summary>The descriptors of <paramref name="serviceTypes"/>, once each, in registration order; a type without one is skipped.</summary>
    internal static List<ServiceDescriptor> Describe(IEnumerable<Type> serviceTypes)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var services = new List<ServiceDescriptor>();
        foreach (var type in serviceTypes)
        {
            var bind = type.GetCustomAttribute<BindServiceMethodAttribute>(inherit: true)?.BindType;
            var property = bind?.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static);
            if (property?.GetValue(null) is ServiceDescriptor descriptor && seen.Add(descriptor.FullName))
            {
                services.Add(descriptor);
            }
        }

        return services;
    }
}
