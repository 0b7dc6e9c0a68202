namespace Hyperion.Internal.Http;

/// <summary>The protocol side of <see cref="RackEnv.RequestAborted"/>: HTTP/1.1's connection, HTTP/2's stream.</summary>
internal interface IRequestLifetime
{
    /// <summary>Cancelled when the client goes away; asking for it may start watching the connection.</summary>
    CancellationToken RequestAborted { get; }
}
