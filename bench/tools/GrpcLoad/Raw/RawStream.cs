namespace GrpcLoad;

/// <summary>One call in flight on a <see cref="RawGrpcConnection"/>: one HTTP/2 stream.</summary>
internal sealed class RawStream(int id, long sendWindow)
{
    public int Id { get; } = id;

    /// <summary>What the server may still receive on this stream (RFC 9113 §6.9); goes negative when a SETTINGS change shrinks it.</summary>
    public long SendWindow { get; set; } = sendWindow;

    /// <summary>DATA octets received and not yet given back with a WINDOW_UPDATE.</summary>
    public long Unacked { get; set; }

    /// <summary>Stopwatch time of the call's first write to the socket (0: not written yet).</summary>
    public long Start { get; set; }

    /// <summary>Stopwatch time of the latest request's write to the socket: a bidi round trip is timed from here.</summary>
    public long Sent { get; set; }

    /// <summary>When the call fails as "client:deadline" unless the server has answered.</summary>
    public long Deadline { get; set; }

    public bool HeadersSeen { get; set; }

    public int HttpStatus { get; set; } = ResponseFieldSink.Absent;

    /// <summary>We sent END_STREAM (RFC 9113 §5.1: half-closed local).</summary>
    public bool HalfClosed { get; set; }

    /// <summary>A request waits for flow-control window; <see cref="PendingEnd"/> says whether END_STREAM goes with it.</summary>
    public bool PendingRequest { get; set; }

    public bool PendingEnd { get; set; }

    /// <summary>Bidi: a request is out and its reply has not arrived.</summary>
    public bool AwaitingReply { get; set; }

    public int Messages { get; set; }

    public int Rounds { get; set; }

    public bool Done { get; set; }

    // A field, not a property: Feed mutates the struct in place.
    public GrpcMessageReader Reader;
}
