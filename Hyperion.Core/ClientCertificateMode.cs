namespace Hyperion;

/// <summary>Whether TLS listeners ask clients for a certificate (mutual TLS); see <see cref="HyperionOptions.ClientCertificateMode"/>.</summary>
public enum ClientCertificateMode
{
    /// <summary>No certificate is asked for (the default).</summary>
    NoCertificate = 0,

    /// <summary>A certificate is asked for; a client without one is still served, with <see cref="RackEnv.ClientCertificate"/> null.</summary>
    AllowCertificate = 1,

    /// <summary>A certificate is required: a client without one (or with one refused by validation) fails the handshake.</summary>
    RequireCertificate = 2,
}
