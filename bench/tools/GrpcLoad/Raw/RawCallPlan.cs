namespace GrpcLoad;

/// <summary>What every call of a raw run sends and what it must get back to count as a success.</summary>
internal sealed class RawCallPlan
{
    public required RawCallKind Kind { get; init; }

    /// <summary>The method's :path, "/package.Service/Method".</summary>
    public required string Path { get; init; }

    /// <summary>One serialized request message (not length-prefixed), sent once per call or once per round trip.</summary>
    public required byte[] Request { get; init; }

    /// <summary>Every reply message must equal this (serialized, not length-prefixed); null accepts any reply.</summary>
    public byte[]? ExpectedReply { get; init; }

    /// <summary>Replies a server-streaming call must deliver before its trailers (1 for unary).</summary>
    public int Replies { get; init; } = 1;

    /// <summary>Round trips per bidi call; 0 keeps each call going until the run's end.</summary>
    public int Rounds { get; init; }
}
