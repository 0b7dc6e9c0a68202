using System.Buffers;

namespace Hyperion.Internal.Http;

/// <summary>
/// Wraps the server's body writer: what the inner body writes is encoded as it arrives, and each of its flushes
/// becomes an encoder flush (gzip sync flush, Brotli flush) followed by a flush of the server's writer, so the
/// client can decode everything flushed so far.
/// </summary>
internal sealed class CompressingBodyWriter(ContentEncoder encoder, ResponseBodyWriter inner) : ResponseBodyWriter
{
    // Encoded bytes are handed on in pieces of about this size between flushes.
    private const int ForwardThreshold = 16 * 1024;

    // A large write is encoded a slice at a time, so what waits here for the client stays about one slice.
    private const int SliceSize = 64 * 1024;

    private readonly ArrayBufferWriter<byte> _encoded = new(4096);

    public override CancellationToken Aborted => inner.Aborted;

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if (data.Length > SliceSize)
        {
            return WriteSlicedAsync(data, cancellationToken);
        }

        encoder.Write(data.Span, _encoded);
        return _encoded.WrittenCount >= ForwardThreshold ? ForwardAsync(cancellationToken) : default;
    }

    public override async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        encoder.Flush(_encoded);
        await ForwardAsync(cancellationToken).ConfigureAwait(false);
        await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void AddTrailer(string name, string value) => inner.AddTrailer(name, value);

    /// <summary>Ends the encoded stream (final block, gzip trailer) once the inner body is done.</summary>
    public ValueTask FinishAsync(CancellationToken cancellationToken = default)
    {
        encoder.Finish(_encoded);
        return ForwardAsync(cancellationToken);
    }

    private async ValueTask WriteSlicedAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            int n = Math.Min(SliceSize, data.Length);
            encoder.Write(data.Span[..n], _encoded);
            data = data[n..];
            if (_encoded.WrittenCount >= ForwardThreshold)
            {
                await ForwardAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask ForwardAsync(CancellationToken cancellationToken)
    {
        if (_encoded.WrittenCount == 0)
        {
            return;
        }

        // The server's writers copy what they are given, so the buffer is free again once the write completes.
        await inner.WriteAsync(_encoded.WrittenMemory, cancellationToken).ConfigureAwait(false);
        _encoded.ResetWrittenCount();
    }
}
