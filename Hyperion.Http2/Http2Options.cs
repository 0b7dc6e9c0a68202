namespace Hyperion;

/// <summary>HTTP/2 settings and protections, given to <see cref="Http2ServerExtensions.UseHttp2"/>. Every value is enforced.</summary>
public sealed class Http2Options
{
    /// <summary>SETTINGS_MAX_CONCURRENT_STREAMS: streams past this are refused with REFUSED_STREAM. Default 100.</summary>
    public int MaxConcurrentStreams { get; set; } = 100;

    /// <summary>SETTINGS_MAX_FRAME_SIZE we accept (16 384 to 16 777 215). Larger frames are a FRAME_SIZE_ERROR. Default 16 384.</summary>
    public int MaxFrameSize { get; set; } = 16384;

    /// <summary>
    /// SETTINGS_MAX_HEADER_LIST_SIZE: the decoded size of a request's header list (RFC 9113 §6.5.2 counting).
    /// A larger list is answered with 431. The value advertised and enforced is the smaller of this and
    /// <see cref="HyperionOptions.MaxRequestHeadersTotalSize"/>. Default 32 KiB.
    /// </summary>
    public int MaxHeaderListSize { get; set; } = 32 * 1024;

    /// <summary>SETTINGS_HEADER_TABLE_SIZE: the HPACK dynamic table size our decoder allows. Default 4096.</summary>
    public int HeaderTableSize { get; set; } = 4096;

    /// <summary>SETTINGS_INITIAL_WINDOW_SIZE: how much request body a stream may send before the app reads it. Default 256 KiB.</summary>
    public int InitialStreamWindowSize { get; set; } = 256 * 1024;

    /// <summary>The connection-level receive window, shared by all streams' request bodies. Default 1 MiB.</summary>
    public int InitialConnectionWindowSize { get; set; } = 1024 * 1024;

    /// <summary>
    /// Rapid-reset protection: a connection with more than this many stream resets within <see cref="StreamResetWindow"/>
    /// is closed with GOAWAY ENHANCE_YOUR_CALM. The client's RST_STREAMs and ours for streams we refuse or find
    /// malformed count alike. Default 200.
    /// </summary>
    public int MaxStreamResetsPerWindow { get; set; } = 200;

    /// <summary>The window over which client stream resets are counted. Default 10 s.</summary>
    public TimeSpan StreamResetWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Flood protection: more frames that need an answer from us (PING, SETTINGS) than this within one second
    /// closes the connection with GOAWAY ENHANCE_YOUR_CALM. Default 1000.
    /// </summary>
    public int MaxControlFramesPerSecond { get; set; } = 1000;

    /// <summary>
    /// Flood protection for frames that cost work but make no progress (CVE-2019-9518): empty DATA without END_STREAM,
    /// zero-length HEADERS/CONTINUATION fragments, PRIORITY, RST_STREAM on closed streams, and WINDOW_UPDATE that does not
    /// give back window our DATA consumed (counted in bytes, per stream and on the connection, in steps of at least
    /// 1 KiB or the whole remainder). More than this within one second closes the connection with GOAWAY
    /// ENHANCE_YOUR_CALM. Default 1000.
    /// </summary>
    public int MaxUnproductiveFramesPerSecond { get; set; } = 1000;

    /// <summary>
    /// RFC 9113 §6.5.3: a client that has not acknowledged our SETTINGS within this time gets GOAWAY SETTINGS_TIMEOUT
    /// and the connection closes. Default 10 s.
    /// </summary>
    public TimeSpan SettingsAckTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// CONTINUATION flood protection: more CONTINUATION frames than this in one header block closes the
    /// connection with GOAWAY ENHANCE_YOUR_CALM. Default 32.
    /// </summary>
    public int MaxContinuationFrames { get; set; } = 32;

    /// <summary>
    /// Zero-window stall protection: a response that cannot send for this long because the client keeps its
    /// flow-control window closed is reset with RST_STREAM CANCEL. Default 30 s.
    /// </summary>
    public TimeSpan SendWindowStallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a graceful stop waits for the client's PING answer before sending the final GOAWAY. Default 1 s.</summary>
    public TimeSpan GoAwayPingTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Keepalive: when nothing has been received on a connection for this long, the server sends a PING to learn
    /// whether the client is still there (grpc's GRPC_ARG_KEEPALIVE_TIME_MS on a server; Kestrel's
    /// Http2Limits.KeepAlivePingDelay). Checked on the server's once-a-second clock, so at least 1 s.
    /// Default <see cref="Timeout.InfiniteTimeSpan"/>: no keepalive pings.
    /// </summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = Timeout.InfiniteTimeSpan;

    /// <summary>
    /// Keepalive: a connection from which nothing, not even the ACK, arrives within this time after our keepalive
    /// PING is closed with GOAWAY INTERNAL_ERROR. At least 1 s; <see cref="Timeout.InfiniteTimeSpan"/> never closes.
    /// Only used when <see cref="KeepAlivePingDelay"/> is set. Default 20 s.
    /// </summary>
    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Ping policy (grpc's GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS): a client PING that arrives sooner
    /// than this after the client's previous one, while no DATA or HEADERS went either way in between, is a strike.
    /// PINGs while streams move data (HttpClient's RTT probes) never are. Default 10 s, the shortest keepalive time
    /// grpc-java and grpc-go clients allow; <see cref="TimeSpan.Zero"/> turns the policy off.
    /// </summary>
    public TimeSpan MinPingIntervalWithoutData { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Ping policy (grpc's GRPC_ARG_HTTP2_MAX_PING_STRIKES): strikes tolerated; the next one closes the connection
    /// with GOAWAY ENHANCE_YOUR_CALM and debug data <c>too_many_pings</c>, which grpc clients read as "ping less
    /// often". DATA or HEADERS in either direction clear the strikes. Default 2.
    /// </summary>
    public int MaxPingStrikes { get; set; } = 2;

    internal void Validate()
    {
        if (MaxFrameSize is < 16384 or > (1 << 24) - 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxFrameSize), MaxFrameSize, "RFC 9113 §6.5.2: between 16 384 and 16 777 215.");
        }

        if (InitialStreamWindowSize is < 1 || InitialConnectionWindowSize < 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(InitialStreamWindowSize), "Windows must be positive; the connection window at least 65 535.");
        }

        if (MaxConcurrentStreams < 1 || MaxHeaderListSize < 1024 || HeaderTableSize < 0 || MaxStreamResetsPerWindow < 1
            || MaxControlFramesPerSecond < 1 || MaxContinuationFrames < 1 || MaxUnproductiveFramesPerSecond < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrentStreams), "HTTP/2 limits must be positive (header list at least 1 KiB).");
        }

        if (SettingsAckTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(SettingsAckTimeout), SettingsAckTimeout, "The SETTINGS ACK timeout must be positive.");
        }

        // The heartbeat checks deadlines once a second: shorter keepalive times could not be honoured.
        if (KeepAlivePingDelay != Timeout.InfiniteTimeSpan && KeepAlivePingDelay < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(KeepAlivePingDelay), KeepAlivePingDelay, "At least 1 s, or Timeout.InfiniteTimeSpan for no keepalive pings.");
        }

        if (KeepAlivePingTimeout != Timeout.InfiniteTimeSpan && KeepAlivePingTimeout < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(KeepAlivePingTimeout), KeepAlivePingTimeout, "At least 1 s, or Timeout.InfiniteTimeSpan to never close.");
        }

        if (MinPingIntervalWithoutData < TimeSpan.Zero || MaxPingStrikes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MinPingIntervalWithoutData), "The ping policy's interval and strikes cannot be negative.");
        }
    }
}
