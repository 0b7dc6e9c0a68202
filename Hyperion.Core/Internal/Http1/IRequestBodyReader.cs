namespace Hyperion.Internal.Http1;

/// <summary>Where a request body comes from: the HTTP/1.1 connection, or later an HTTP/2 stream.</summary>
internal interface IRequestBodyReader
{
    /// <summary>Reads decoded body bytes; 0 at the end of the body.</summary>
    ValueTask<int> ReadBodyAsync(Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>
    /// Reads only what is already buffered, never starting a read that waits (so nothing can write into
    /// <paramref name="buffer"/> after this returns). False when the body has no bytes ready yet.
    /// </summary>
    bool TryReadBufferedBody(Span<byte> buffer, out int read);

    /// <summary>True when the rest of the body has arrived (a read to the end never waits); chunked HTTP/1.1 bodies count as not arrived until decoded.</summary>
    bool IsBodyFullyBuffered { get; }
}
