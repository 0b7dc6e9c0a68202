namespace Hyperion.Internal.Http;

/// <summary>Raised while reading a request body that turns out to be malformed, too large or too slow.</summary>
internal sealed class BadRequestException : IOException
{
    public BadRequestException(RejectionReason reason)
        : base($"Bad request: {reason}")
    {
        Reason = reason;
    }

    public RejectionReason Reason { get; }

    public int StatusCode => Reason.StatusCode();
}
