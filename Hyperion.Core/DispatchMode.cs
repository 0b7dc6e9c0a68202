namespace Hyperion;

/// <summary>Where a route's delegate (and the middleware around it) runs.</summary>
public enum DispatchMode
{
    /// <summary>
    /// On the thread that read the request: the connection's loop thread on io_uring and epoll, so a synchronous
    /// route is answered with no thread hop. A route that blocks here stalls every connection of that loop.
    /// </summary>
    Inline,

    /// <summary>
    /// On the thread pool: the loop hands the request over and the response is handed back to the connection to be
    /// written. Costs a thread hop; a route that blocks (a sync database call, <c>.Result</c>, file reads) slows
    /// only itself.
    /// </summary>
    ThreadPool,
}
