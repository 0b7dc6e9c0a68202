namespace Hyperion.Http2.Internal;

/// <summary>Frame flag bits (RFC 9113 §6). Flags a frame type does not define are ignored (§4.1).</summary>
internal static class Http2FrameFlags
{
    public const byte None = 0x0;
    public const byte EndStream = 0x1;
    public const byte Ack = 0x1;
    public const byte EndHeaders = 0x4;
    public const byte Padded = 0x8;
    public const byte Priority = 0x20;
}
