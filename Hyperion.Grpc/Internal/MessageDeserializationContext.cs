using System.Buffers;
using Grpc.Core;

namespace Hyperion.Grpc.Internal;

/// <summary>
/// Hands a received message to the generated marshaller straight from the call's buffer: protobuf's
/// <c>IBufferMessage</c> path reads <see cref="PayloadAsReadOnlySequence"/>, so no per-message array is made.
/// One per thread, reused: deserializing is synchronous.
/// </summary>
internal sealed class MessageDeserializationContext : DeserializationContext
{
    [ThreadStatic]
    private static MessageDeserializationContext? t_cached;

    private byte[] _buffer = [];
    private int _offset;
    private int _length;

    public static MessageDeserializationContext Rent(byte[] buffer, int offset, int length)
    {
        var context = t_cached ?? new MessageDeserializationContext();
        t_cached = null;
        context._buffer = buffer;
        context._offset = offset;
        context._length = length;
        return context;
    }

    public static void Return(MessageDeserializationContext context)
    {
        context._buffer = [];
        t_cached = context;
    }

    public override int PayloadLength => _length;

    public override byte[] PayloadAsNewBuffer() => _buffer.AsSpan(_offset, _length).ToArray();

    public override ReadOnlySequence<byte> PayloadAsReadOnlySequence() => new(_buffer, _offset, _length);
}
