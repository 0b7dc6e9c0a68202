namespace Hyperion;

/// <summary>
/// Thrown by a handler, a middleware or a helper such as <see cref="RackEnv.ReadJsonAsync{T}"/> to answer with
/// <see cref="StatusCode"/> and <see cref="Exception.Message"/> as a short <c>text/plain</c> body, on both protocols.
/// Once the response has started it is like any other exception: the connection (HTTP/2: the stream) is cut.
/// </summary>
public sealed class HttpStatusException : Exception
{
    /// <summary>An exception that answers <paramref name="statusCode"/> (400–599) with <paramref name="message"/> as the body.</summary>
    public HttpStatusException(int statusCode, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        if (statusCode is < 400 or > 599)
        {
            throw new ArgumentOutOfRangeException(nameof(statusCode), statusCode, "An error status is 4xx or 5xx.");
        }

        StatusCode = statusCode;
    }

    /// <summary>The status the client gets.</summary>
    public int StatusCode { get; }
}
