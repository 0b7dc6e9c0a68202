using System.Security.Cryptography.X509Certificates;
using Grpc.Core;

namespace Hyperion.Grpc.Internal;

/// <summary>
/// The <see cref="AuthContext"/> of a call from the client's TLS certificate, with grpc's property names
/// (grpc doc/server_side_auth.md): the peer identity is the certificate's DNS subject alternative names, or its
/// common name when it has none.
/// </summary>
internal static class GrpcAuthContext
{
    public const string TransportSecurityType = "transport_security_type";
    public const string CommonName = "x509_common_name";
    public const string SubjectAlternativeName = "x509_subject_alternative_name";

    public static AuthContext Create(X509Certificate2? certificate)
    {
        var properties = new Dictionary<string, List<AuthProperty>>(StringComparer.Ordinal);
        if (certificate is null)
        {
            return new AuthContext(null, properties);
        }

        properties[TransportSecurityType] = [AuthProperty.Create(TransportSecurityType, "ssl"u8.ToArray())];
        string? identity = null;
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                foreach (var dns in san.EnumerateDnsNames())
                {
                    Add(properties, SubjectAlternativeName, dns);
                    identity = SubjectAlternativeName;
                }
            }
        }

        var commonName = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        if (!string.IsNullOrEmpty(commonName))
        {
            Add(properties, CommonName, commonName);
            identity ??= CommonName;
        }

        return new AuthContext(identity, properties);
    }

    private static void Add(Dictionary<string, List<AuthProperty>> properties, string name, string value)
    {
        if (!properties.TryGetValue(name, out var list))
        {
            properties[name] = list = [];
        }

        list.Add(AuthProperty.Create(name, System.Text.Encoding.UTF8.GetBytes(value)));
    }
}
