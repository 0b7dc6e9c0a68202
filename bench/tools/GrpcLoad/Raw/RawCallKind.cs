namespace GrpcLoad;

/// <summary>The gRPC call shapes the raw client drives (grpc PROTOCOL-HTTP2.md: every shape is one HTTP/2 stream).</summary>
internal enum RawCallKind
{
    /// <summary>One request (END_STREAM with it), one reply expected.</summary>
    Unary,

    /// <summary>One request (END_STREAM with it), <see cref="RawCallPlan.Replies"/> replies expected.</summary>
    ServerStream,

    /// <summary>Ping-pong: one request, wait for its reply, repeat; END_STREAM after the last round trip.</summary>
    Bidi,
}
