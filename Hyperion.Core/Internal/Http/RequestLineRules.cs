namespace Hyperion.Internal.Http;

/// <summary>
/// MaxRequestLineSize for both protocols. HTTP/2 has no request line; its equivalent is the origin-form line an
/// HTTP/1.1 client would send for the same request ("METHOD /path HTTP/1.1"): the authority travels as Host in
/// HTTP/1.1 and is counted with the header fields there, so it is counted with them in HTTP/2 too, and the same
/// request gets the same answer on either protocol.
/// </summary>
internal static class RequestLineRules
{
    private const int VersionSpacesAndCr = 11; // " " + " HTTP/1.1" + CR, as HTTP/1.1 counts the line up to its LF

    public static bool Exceeds(int methodLength, int targetLength, int limit) => methodLength + targetLength + VersionSpacesAndCr > limit;

    /// <summary>
    /// Which part of an overlong request line is to blame. RFC 9112 §3: 414 is for a target that is too long;
    /// a method that is the longer part is not a method we implement (501, RFC 9110 §9.1), or no method at all
    /// when it holds a byte outside tchar (400). <paramref name="targetLength"/> is -1 when the target has not started.
    /// </summary>
    public static RejectionReason Blame(ReadOnlySpan<byte> method, int targetLength)
    {
        if (targetLength >= 0 && targetLength >= method.Length)
        {
            return RejectionReason.RequestLineTooLong;
        }

        return HttpChars.IsToken(method) ? RejectionReason.MethodNotImplemented : RejectionReason.InvalidMethod;
    }
}
