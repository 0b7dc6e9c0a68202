namespace Hyperion.Http2.Internal;

/// <summary>What has happened on a stream, as the frame rules of RFC 9113 §5.1 and §5.4 need to know it.</summary>
[Flags]
internal enum Http2StreamFlags
{
    None = 0,

    /// <summary>The client sent END_STREAM: half-closed (remote), or closed once we end too.</summary>
    EndStreamReceived = 1,

    /// <summary>The client sent RST_STREAM.</summary>
    ResetReceived = 2,

    /// <summary>We sent RST_STREAM (NO_ERROR after an early response, or an error): frames the client sent before seeing it may still arrive.</summary>
    ResetSent = 4,

    /// <summary>We reported a stream error; RFC 9113 §5.4: the first one reported is the only one.</summary>
    ErrorSent = 8,

    /// <summary>We sent END_STREAM: half-closed (local), or closed if the client had ended too.</summary>
    EndStreamSent = 16,
}
