namespace Hyperion.Http2.Hpack;

/// <summary>Receives the fields of a decoded header block, in order.</summary>
/// <remarks>
/// The spans are only valid during the call: they point into the decoder's buffers, its dynamic table or the block.
/// An exception thrown here stops the block half-way and leaves the dynamic table out of step with the peer, so it
/// must end the connection; to reject a field and keep the connection, record the problem and act after Decode.
/// </remarks>
internal interface IHpackHeaderSink
{
    void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value);
}
