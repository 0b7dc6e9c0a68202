namespace Hyperion.Http2.Hpack;

/// <summary>
/// A header block could not be decoded. The decoding context is lost, so the connection must end
/// with COMPRESSION_ERROR (RFC 9113 §4.3).
/// </summary>
internal sealed class HpackDecodingException : Exception
{
    public HpackDecodingException()
    {
    }

    public HpackDecodingException(string message)
        : base(message)
    {
    }

    public HpackDecodingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
