using System.Buffers;
using Grpc.Core;

namespace Hyperion.Grpc.Internal;

/// <summary>
/// Lets the generated marshaller write a message into a pooled array behind the 5-byte gRPC prefix
/// (<see cref="GetBufferWriter"/>; <see cref="Complete(byte[])"/> for marshallers without it), so the framed message
/// goes to the response in one write. One per thread, reused: serializing is synchronous.
/// </summary>
internal sealed class MessageSerializationContext : SerializationContext, IBufferWriter<byte>
{
    [ThreadStatic]
    private static MessageSerializationContext? t_cached;

    private byte[]? _buffer;
    private int _written;
    private bool _completed;

    public static MessageSerializationContext Rent()
    {
        var context = t_cached ?? new MessageSerializationContext();
        t_cached = null;
        context._buffer = null;
        context._written = GrpcProtocol.HeaderSize;
        context._completed = false;
        return context;
    }

    public static void Return(MessageSerializationContext context)
    {
        if (context._buffer is { } left)
        {
            ArrayPool<byte>.Shared.Return(left);
            context._buffer = null;
        }

        t_cached = context;
    }

    /// <summary>Takes the pooled array holding prefix space and payload; the caller returns it to the shared pool.</summary>
    public byte[] Detach(out int payloadLength)
    {
        if (!_completed)
        {
            throw new InvalidOperationException("The marshaller did not complete the serialization context.");
        }

        var buffer = _buffer ?? ArrayPool<byte>.Shared.Rent(GrpcProtocol.HeaderSize);
        payloadLength = _written - GrpcProtocol.HeaderSize;
        _buffer = null;
        return buffer;
    }

    public override void SetPayloadLength(int payloadLength) => Ensure(payloadLength);

    public override void Complete(byte[] payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        Ensure(payload.Length);
        payload.CopyTo(_buffer!, _written);
        _written += payload.Length;
        _completed = true;
    }

    public override IBufferWriter<byte> GetBufferWriter() => this;

    public override void Complete() => _completed = true;

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(Math.Max(sizeHint, 1));
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(Math.Max(sizeHint, 1));
        return _buffer.AsSpan(_written);
    }

    private void Ensure(int more)
    {
        int needed = _written + more;
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(needed, 256));
        }
        else if (_buffer.Length < needed)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
            _buffer.AsSpan(0, _written).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }
    }
}
