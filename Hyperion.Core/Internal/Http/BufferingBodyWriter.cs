using System.Buffers;

namespace Hyperion.Internal.Http;

/// <summary><see cref="RackResponse.BufferBodyAsync"/>: collects a body in memory; flushes have nowhere to go.</summary>
internal sealed class BufferingBodyWriter(CancellationToken aborted) : ResponseBodyWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);

    public List<(string Name, string Value)>? AddedTrailers { get; private set; }

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.WrittenMemory;

    public override CancellationToken Aborted => aborted;

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        _buffer.Write(data.Span);
        return default;
    }

    public override ValueTask FlushAsync(CancellationToken cancellationToken = default) => default;

    public override void AddTrailer(string name, string value)
    {
        if (!HeaderValidation.IsValidName(name) || !HeaderValidation.IsValidValue(value))
        {
            throw new ArgumentException($"Trailer '{name.ReplaceLineEndings(" ")}' has an invalid name or value (CR, LF and control characters are refused).");
        }

        (AddedTrailers ??= []).Add((name, value));
    }
}
