namespace Hyperion.Internal.Transport;

/// <summary>
/// One protocol session (HTTP/1.1, HTTP/2, …) over a connection's duplex pipe. The server tracks these
/// for the heartbeat (timeouts), graceful stop and the forced close after the stop timeout; the transports
/// run them and close the connection when <see cref="RunAsync"/> ends.
/// </summary>
internal interface IProtocolConnection
{
    ConnectionContext Context { get; }

    /// <summary>True when the session ended because the client closed its side (no lingering close needed).</summary>
    bool EndedByPeer { get; }

    /// <summary>Serves the connection until either side ends it; completes the pipes before returning.</summary>
    Task RunAsync();

    /// <summary>Called about once a second by the server: apply idle and request timeouts.</summary>
    void OnHeartbeat(long now);

    /// <summary>Called once when the server starts a graceful stop: finish in-flight work, take no new requests.</summary>
    void OnStopping();

    /// <summary>Tear the connection down now (after the stop timeout).</summary>
    void Abort();
}
