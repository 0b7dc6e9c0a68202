namespace Hyperion.Internal.Timeouts;

/// <summary>The protocol session in charge of a connection: told when one of its deadlines passed.</summary>
internal interface ITimeoutHandler
{
    /// <summary>Runs on the connection's own scheduler (its loop thread, or the thread pool), never on the heartbeat's thread.</summary>
    void OnTimeout(TimeoutReason reason);
}
