using Hyperion.Internal.Http;

namespace Hyperion.Internal.Dispatch;

/// <summary>
/// What a client gets when a handler throws before the response started, on HTTP/1.1 and HTTP/2 alike: the status
/// of an <see cref="HttpStatusException"/> with its message, otherwise 500; a short text body either way, so the
/// client sees more than an empty answer (the details go to the log, never to the client).
/// </summary>
internal static class ErrorResponses
{
    public static RackResponse For(Exception ex)
    {
        if (ex is HttpStatusException status)
        {
            return RackResponse.Text(status.StatusCode, status.Message);
        }

        return RackResponse.Text(500, StatusLines.ReasonPhrase(500));
    }

    /// <summary>Client errors a handler signalled on purpose are not the server's faults: no Error line for them.</summary>
    public static bool IsAppFault(Exception ex) => ex is not HttpStatusException { StatusCode: < 500 };
}
