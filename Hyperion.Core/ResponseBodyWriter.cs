using System.Text;

namespace Hyperion;

/// <summary>
/// Given to a streaming response callback: writes the body as it goes. Writes are buffered until
/// <see cref="FlushAsync"/> (or the callback returns); each flush reaches the client.
/// </summary>
public abstract class ResponseBodyWriter
{
    private protected ResponseBodyWriter()
    {
    }

    /// <summary>Writes bytes to the body.</summary>
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
}
