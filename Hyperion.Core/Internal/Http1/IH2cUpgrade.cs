namespace Hyperion.Internal.Http1;

/// <summary>Implemented by the HTTP/2 connection so HTTP/1.1 can hand it an <c>Upgrade: h2c</c> request (RFC 7540 §3.2).</summary>
internal interface IH2cUpgrade
{
    /// <summary>Applies the client's HTTP2-Settings and makes <paramref name="env"/> stream 1, half-closed (remote). Throws if the settings are invalid.</summary>
    void PrepareUpgrade(ReadOnlySpan<byte> settingsPayload, RackEnv env);
}
