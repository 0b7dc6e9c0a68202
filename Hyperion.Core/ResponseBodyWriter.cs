using System.Text;

namespace Hyperion;

/// <summary>
/// Given to a streaming response callback: writes the body as it goes. Writes are buffered until
/// <see cref="FlushAsync"/> (or the callback returns); each flush reaches the client.
/// </summary>
/// <remarks>
/// Middleware that transforms a body (compression, counting, rewriting) derives from this class and hands its writer
/// to <see cref="RackResponse.WriteBodyToAsync"/> of the inner response, forwarding each <see cref="FlushAsync"/> to
/// the server's writer so that every flush of the inner body still reaches the client.
/// </remarks>
public abstract class ResponseBodyWriter
{
    /// <summary>For writers that wrap another one (see the remarks).</summary>
    protected ResponseBodyWriter()
    {
    }

    /// <summary>Writes bytes to the body. The caller may reuse <paramref name="data"/> once the returned task completes.</summary>
    public abstract ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>Writes text, UTF-8 encoded.</summary>
    public ValueTask WriteAsync(string text, CancellationToken cancellationToken = default)
        => WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken);

    /// <summary>Sends everything written so far to the client.</summary>
    public abstract ValueTask FlushAsync(CancellationToken cancellationToken = default);

    /// <summary>Adds a trailer field, sent after the body (HTTP/1.1 chunked trailers). Only before the callback returns.</summary>
    public abstract void AddTrailer(string name, string value);

    /// <summary>Cancelled when the client goes away.</summary>
    public abstract CancellationToken Aborted { get; }

    /// <summary>
    /// A write-only stream over this writer, for encoders that write to a <see cref="Stream"/> (GZipStream,
    /// BrotliStream): its <c>WriteAsync</c> and <c>FlushAsync</c> are this writer's. Use the asynchronous members only:
    /// a synchronous write could block the server's loop thread, so it throws.
    /// </summary>
    public Stream AsStream() => new Internal.Http.ResponseBodyStream(this);
}
