namespace Hyperion.Http2.Internal;

/// <summary>A connection error (RFC 9113 §5.4.1): the connection answers with GOAWAY carrying <see cref="Code"/> and closes.</summary>
internal sealed class Http2ConnectionException : Exception
{
    public Http2ConnectionException(Http2ErrorCode code, string message, string? debugData = null)
        : base(message)
    {
        Code = code;
        DebugData = debugData;
    }

    public Http2ErrorCode Code { get; }

    /// <summary>RFC 9113 §6.8: opaque GOAWAY debug data, for peers that act on it (grpc's "too_many_pings").</summary>
    public string? DebugData { get; }
}
