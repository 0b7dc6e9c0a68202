namespace Hyperion.Fuzz.Targets;

/// <summary>
/// http1: the bytes a client sends on a cleartext HTTP/1.1 connection (pipelined requests, Content-Length and
/// chunked bodies with extensions and trailers, Expect, Upgrade). Drives Http1Parser and the chunked decoder
/// through the real connection, as a socket would.
/// </summary>
internal sealed class Http1Target : IFuzzTarget
{
    private readonly ConnectionDriver _driver = new();

    public string Name => "http1";

    public void Run(ReadOnlySpan<byte> input) => _driver.Run(input);
}
