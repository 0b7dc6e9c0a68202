using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Text;
using Hyperion.Internal.Http;

namespace Hyperion.Internal.Http1;

/// <summary>Writes a response head straight into the pipe's memory: no intermediate buffers, no strings.</summary>
internal ref struct HeadWriter
{
    private readonly PipeWriter? _writer;
    private Span<byte> _span;
    private int _buffered;

    public HeadWriter(PipeWriter writer, int sizeHint)
    {
        _writer = writer;
        _span = writer.GetSpan(sizeHint);
        _buffered = 0;
    }

    /// <summary>
    /// Writes into <paramref name="span"/> only and commits nothing: the caller advances the pipe itself. A head that
    /// does not fit throws <see cref="SpanFullException"/> (the caller then takes another path).
    /// </summary>
    public HeadWriter(Span<byte> span)
    {
        _writer = null;
        _span = span;
        _buffered = 0;
    }

    /// <summary>Bytes written so far into the current span.</summary>
    public readonly int Written => _buffered;

    public void Write(scoped ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length <= _span.Length - _buffered)
        {
            bytes.CopyTo(_span[_buffered..]);
            _buffered += bytes.Length;
            return;
        }

        WriteSlow(bytes);
    }

    private void WriteSlow(scoped ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            if (_buffered == _span.Length)
            {
                Grow(bytes.Length);
            }

            int n = Math.Min(bytes.Length, _span.Length - _buffered);
            bytes[..n].CopyTo(_span[_buffered..]);
            _buffered += n;
            bytes = bytes[n..];
        }
    }

    /// <summary>Writes a string known to be valid Latin-1 (checked by <see cref="HeaderValidation"/>).</summary>
    public void WriteLatin1(string s)
    {
        if (s.Length > _span.Length - _buffered)
        {
            Grow(s.Length);
        }

        _buffered += Encoding.Latin1.GetBytes(s, _span[_buffered..]);
    }

    public void WriteNumber(long value)
    {
        if (_span.Length - _buffered < 20)
        {
            Grow(20);
        }

        Utf8Formatter.TryFormat(value, _span[_buffered..], out int written);
        _buffered += written;
    }

    public void WriteHeader(scoped ReadOnlySpan<byte> nameColonSpace, string value)
    {
        Write(nameColonSpace);
        WriteLatin1(value);
        Write("\r\n"u8);
    }

    public void WriteHeader(string name, string value)
    {
        WriteLatin1(name);
        Write(": "u8);
        WriteLatin1(value);
        Write("\r\n"u8);
    }

    public void Commit()
    {
        _writer!.Advance(_buffered);
        _buffered = 0;
        _span = default;
    }

    private void Grow(int needed)
    {
        if (_writer is null)
        {
            throw new SpanFullException();
        }

        _writer.Advance(_buffered);
        _buffered = 0;
        _span = _writer.GetSpan(Math.Max(needed, 256));
    }

    /// <summary>A fixed-span head that did not fit.</summary>
    internal sealed class SpanFullException : Exception
    {
        public SpanFullException()
            : base("The response head does not fit the span.")
        {
        }
    }
}
