namespace Hyperion.Internal.Http1;

/// <summary>Where a request body comes from: the HTTP/1.1 connection, or later an HTTP/2 stream.</summary>
internal interface IRequestBodyReader
{
    /// <summary>Reads decoded body bytes; 0 at the end of the body.</summary>
    ValueTask<int> ReadBodyAsync(Memory<byte> buffer, CancellationToken cancellationToken);
}
