namespace Hyperion.Http2.Hpack;

/// <summary>
/// The decoded header list is larger than the decoder's limit (size as in RFC 9113 §6.5.2). Thrown only after
/// the whole block was processed, so the dynamic table is still in sync and the connection stays usable.
/// </summary>
internal sealed class HeaderListTooLargeException : Exception
{
    public HeaderListTooLargeException()
    {
    }

    public HeaderListTooLargeException(string message)
        : base(message)
    {
    }

    public HeaderListTooLargeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
