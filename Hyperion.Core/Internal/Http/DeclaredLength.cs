namespace Hyperion.Internal.Http;

/// <summary>One rule for both protocols: a Content-Length the app declared must be the length of the body it gave.</summary>
internal static class DeclaredLength
{
    /// <summary>Throws (the client gets 500) when <paramref name="declared"/> (−1: none) is not <paramref name="actual"/>.</summary>
    public static void Check(long declared, long actual)
    {
        if (declared >= 0 && declared != actual)
        {
            throw new InvalidOperationException($"The response's Content-Length header ({declared}) does not match its body ({actual} bytes).");
        }
    }
}
