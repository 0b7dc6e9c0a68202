using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Hyperion.Internal.Http;

/// <summary>
/// The body of <see cref="RackResponse.Json{T}"/>: the value and its source-generated type info, serialized when the
/// response is written, into the memory the response is sent from (see <see cref="JsonOutput"/>).
/// </summary>
internal abstract class JsonBody
{
    /// <summary>Writes the value; throws what the serializer throws (nothing of the response is sent yet).</summary>
    public abstract void Serialize(Utf8JsonWriter writer);

    /// <summary>The type info's options: their encoder and indentation shape the writer (see <see cref="JsonOutput"/>).</summary>
    public abstract JsonSerializerOptions Options { get; }

    /// <summary>The length of the last document of this type: a guess for the Content-Length's digit count.</summary>
    public abstract int LengthHint { get; }

    public abstract void NoteLength(long length);

    /// <summary>
    /// The whole document in a buffer rented from <c>ArrayPool&lt;byte&gt;.Shared</c> (its first <paramref name="length"/>
    /// bytes), for a caller that sends it after an await and then returns it (when its length is not 0).
    /// </summary>
    public byte[] SerializePooled(out int length)
    {
        var output = JsonOutput.Rent(default);
        try
        {
            output.SerializeWith(this);
            return output.DetachSpill(out length);
        }
        finally
        {
            output.Return();
        }
    }

    /// <summary>The whole document as one array (middleware that needs the bytes; the rare fallback paths).</summary>
    public byte[] ToArray()
    {
        var buffer = SerializePooled(out int length);
        var bytes = buffer.AsSpan(0, length).ToArray();
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return bytes;
    }
}

/// <inheritdoc/>
internal sealed class JsonBody<T>(T value, JsonTypeInfo<T> typeInfo) : JsonBody
{
    // Per closed type: documents of one type tend to have lengths of one digit count.
    private static int s_lengthHint = 100;

    public override int LengthHint => Volatile.Read(ref s_lengthHint);

    public override void NoteLength(long length)
    {
        int hint = (int)Math.Min(length, int.MaxValue);
        if (hint != s_lengthHint)
        {
            Volatile.Write(ref s_lengthHint, hint);
        }
    }

    public override JsonSerializerOptions Options => typeInfo.Options;

    public override void Serialize(Utf8JsonWriter writer) => JsonSerializer.Serialize(writer, value, typeInfo);
}

/// <summary>
/// Where a JSON body is serialized: first straight into a region of the connection's output (after the response head,
/// not yet committed), then, for a document that outgrows that region, into a pooled buffer that is copied after it.
/// Nothing is committed until the document is complete, so a serializer that throws leaves the output untouched and
/// the server can still answer 500. One per thread, with its Utf8JsonWriter, reused across responses.
/// </summary>
internal sealed class JsonOutput : IBufferWriter<byte>
{
    private const int MinimumSpill = 4096;

    [ThreadStatic]
    private static JsonOutput? t_current;

    private Utf8JsonWriter _writer;
    private JsonSerializerOptions? _writerFor;
    private Memory<byte> _region;
    private int _inPlace;
    private byte[]? _spill;
    private int _spilled;
    private bool _spilling;
    private bool _rented;

    private JsonOutput()
    {
        _writer = new Utf8JsonWriter(this, new JsonWriterOptions { SkipValidation = true });
    }

    /// <summary>Bytes written into the region.</summary>
    public int InPlaceLength => _inPlace;

    /// <summary>Bytes that did not fit the region, in order after it.</summary>
    public ReadOnlySpan<byte> Spilled => _spill.AsSpan(0, _spilled);

    public long Length => (long)_inPlace + _spilled;

    /// <summary>This thread's instance, writing into <paramref name="region"/> first (empty: all into the pool).</summary>
    public static JsonOutput Rent(Memory<byte> region)
    {
        var output = t_current;
        if (output is null || output._rented)
        {
            // Reentrant use (a converter that builds another JSON response) gets its own.
            output = new JsonOutput();
            t_current ??= output;
        }

        output._rented = true;
        output._region = region;
        output._inPlace = 0;
        output._spilled = 0;
        output._spilling = region.IsEmpty;
        return output;
    }

    public void SerializeWith(JsonBody body)
    {
        var options = body.Options;
        if (!ReferenceEquals(options, _writerFor))
        {
            // A writer given to the serializer is used with its own options, so it takes the context's encoder and
            // indentation (an app with one context builds this once per thread).
            _writer = new Utf8JsonWriter(this, new JsonWriterOptions
            {
                Encoder = options.Encoder,
                Indented = options.WriteIndented,
                IndentCharacter = options.IndentCharacter,
                IndentSize = options.IndentSize,
                NewLine = options.NewLine,
                SkipValidation = true,
            });
            _writerFor = options;
        }
        else
        {
            _writer.Reset(this);
        }

        body.Serialize(_writer);
        _writer.Flush();
    }

    /// <summary>
    /// Hands over the pooled buffer holding the spilled bytes (the whole document when the region was empty), for a
    /// caller that sends it after an await; it goes back with <c>ArrayPool&lt;byte&gt;.Shared.Return</c>.
    /// </summary>
    public byte[] DetachSpill(out int length)
    {
        length = _spilled;
        var spill = _spill ?? [];
        _spill = null;
        _spilled = 0;
        return spill;
    }

    /// <summary>Gives the spill buffer back and forgets the region; the instance may be rented again.</summary>
    public void Return()
    {
        _writer.Reset(this);
        if (_spill is { } spill)
        {
            _spill = null;
            ArrayPool<byte>.Shared.Return(spill);
        }

        _region = default;
        _rented = false;
    }

    public void Advance(int count)
    {
        if (_spilling)
        {
            _spilled += count;
        }
        else
        {
            _inPlace += count;
        }
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        int need = Math.Max(sizeHint, 1);
        if (!_spilling)
        {
            if (_region.Length - _inPlace >= need)
            {
                return _region[_inPlace..];
            }

            // The region is full: the rest of the document goes to the pool and is copied after it.
            _spilling = true;
        }

        if (_spill is null || _spill.Length - _spilled < need)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(Math.Max(MinimumSpill, need + _spilled), (_spill?.Length ?? 0) * 2));
            if (_spill is { } old)
            {
                old.AsSpan(0, _spilled).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(old);
            }

            _spill = bigger;
        }

        return _spill.AsMemory(_spilled);
    }

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
}
