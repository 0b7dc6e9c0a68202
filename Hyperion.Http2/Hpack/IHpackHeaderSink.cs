namespace Hyperion.Http2.Hpack;

/// <summary>Receives the fields of a decoded header block, in order.</summary>
/// <remarks>The spans are only valid during the call: they point into the decoder's buffers or the block.</remarks>
internal interface IHpackHeaderSink
{
    void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value);
}
