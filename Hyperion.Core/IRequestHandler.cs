namespace Hyperion;

/// <summary>
/// A legacy route handler: it receives a fully parsed <see cref="Request"/>, body included, and
/// returns the response. Registered with <see cref="HyperionServer.Handle(string, string, IRequestHandler, DispatchMode?)"/>.
/// </summary>
public interface IRequestHandler
{
    /// <summary>Answers one request.</summary>
    ValueTask<RackResponse> HandleAsync(Request request);
}
