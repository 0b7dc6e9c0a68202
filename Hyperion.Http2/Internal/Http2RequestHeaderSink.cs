using System.Buffers;
using Hyperion.Http2.Hpack;
using Hyperion.Internal.Http;

namespace Hyperion.Http2.Internal;

/// <summary>
/// Collects a decoded request (or trailer) field block and checks it against RFC 9113 §8.2 and §8.3.
/// Never throws from <see cref="OnHeader"/>: the whole block must be decoded to keep the HPACK table in
/// step, so a violation is recorded in <see cref="Malformed"/> and acted on afterwards.
/// </summary>
internal sealed class Http2RequestHeaderSink : IHpackHeaderSink
{
    private byte[] _buffer = new byte[1024];
    private int _length;
    private int[] _fields = new int[64];
    private int _fieldCount;
    private bool _sawRegular;

    public string? Malformed { get; private set; }

    public bool Trailers { get; private set; }

    public int FieldCount => _fieldCount;

    public long ContentLength { get; private set; }

    public (int Start, int Length) Method { get; private set; }

    public (int Start, int Length) Scheme { get; private set; }

    public (int Start, int Length) Authority { get; private set; }

    public (int Start, int Length) PathAndQuery { get; private set; }

    public int HostField { get; private set; }

    public ReadOnlySpan<byte> Bytes => _buffer.AsSpan(0, _length);

    public ReadOnlySpan<byte> Slice((int Start, int Length) range) => _buffer.AsSpan(range.Start, range.Length);

    public void Reset(bool trailers)
    {
        _length = 0;
        _fieldCount = 0;
        _sawRegular = false;
        Malformed = null;
        Trailers = trailers;
        ContentLength = -1;
        Method = Scheme = Authority = PathAndQuery = (-1, 0);
        HostField = -1;
    }

    public void GetField(int index, out int nameStart, out int nameLength, out int valueStart, out int valueLength)
    {
        int o = index * 4;
        nameStart = _fields[o];
        nameLength = _fields[o + 1];
        valueStart = _fields[o + 2];
        valueLength = _fields[o + 3];
    }

    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (Malformed is not null)
        {
            return;
        }

        if (name.IsEmpty)
        {
            Malformed = "empty field name";
            return;
        }

        // RFC 9113 §8.2.1: no NUL, CR or LF anywhere in a value, no leading or trailing SP/HTAB.
        if (value.IndexOfAny((byte)0, (byte)'\r', (byte)'\n') >= 0)
        {
            Malformed = "NUL, CR or LF in a field value";
            return;
        }

        if (!value.IsEmpty && (value[0] is (byte)' ' or (byte)'\t' || value[^1] is (byte)' ' or (byte)'\t'))
        {
            Malformed = "whitespace around a field value";
            return;
        }

        if (name[0] == (byte)':')
        {
            OnPseudo(name, value);
            return;
        }

        // RFC 9113 §8.2.1: no controls, SP, uppercase, DEL or non-ASCII, and no colon outside pseudo-headers.
        if (name.IndexOfAnyInRange((byte)0x00, (byte)0x20) >= 0 || name.IndexOfAnyInRange((byte)'A', (byte)'Z') >= 0
            || name.IndexOfAnyInRange((byte)0x7F, (byte)0xFF) >= 0 || name.IndexOf((byte)':') >= 0)
        {
            Malformed = "invalid character in a field name";
            return;
        }

        _sawRegular = true;
        switch (name.Length)
        {
            // RFC 9113 §8.2.2: connection-specific fields are malformed in HTTP/2.
            case 7 when name.SequenceEqual("upgrade"u8):
            case 10 when name.SequenceEqual("connection"u8) || name.SequenceEqual("keep-alive"u8):
            case 16 when name.SequenceEqual("proxy-connection"u8):
            case 17 when name.SequenceEqual("transfer-encoding"u8):
                Malformed = "connection-specific field";
                return;
            case 2 when name.SequenceEqual("te"u8) && !value.SequenceEqual("trailers"u8):
                // RFC 9113 §8.2.2: TE may appear only with the value "trailers".
                Malformed = "te other than trailers";
                return;
            case 14 when name.SequenceEqual("content-length"u8) && !Trailers:
                if (!TryParseLength(value, out long length) || (ContentLength >= 0 && ContentLength != length))
                {
                    Malformed = "invalid content-length";
                    return;
                }

                ContentLength = length;
                break;
            case 4 when name.SequenceEqual("host"u8) && HostField < 0:
                HostField = _fieldCount;
                break;
        }

        AddField(name, value);
    }

    private void OnPseudo(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        // RFC 9113 §8.1: trailers carry no pseudo-headers; §8.3: pseudo-headers come before regular fields.
        if (Trailers)
        {
            Malformed = "pseudo-header in trailers";
            return;
        }

        if (_sawRegular)
        {
            Malformed = "pseudo-header after a regular field";
            return;
        }

        var range = Append(value);
        switch (name.Length)
        {
            case 5 when name.SequenceEqual(":path"u8):
                PathAndQuery = Once(PathAndQuery, range, "duplicate :path");
                return;
            case 7 when name.SequenceEqual(":method"u8):
                Method = Once(Method, range, "duplicate :method");
                return;
            case 7 when name.SequenceEqual(":scheme"u8):
                Scheme = Once(Scheme, range, "duplicate :scheme");
                return;
            case 10 when name.SequenceEqual(":authority"u8):
                Authority = Once(Authority, range, "duplicate :authority");
                return;
            default:
                // RFC 9113 §8.3: unknown pseudo-headers (and response ones such as :status) are malformed.
                Malformed = "unknown pseudo-header";
                return;
        }
    }

    /// <summary>Checks what the whole block must contain (RFC 9113 §8.3.1); call after decoding.</summary>
    public void Complete()
    {
        if (Malformed is not null || Trailers)
        {
            return;
        }

        if (Method.Start < 0)
        {
            Malformed = "missing :method";
            return;
        }

        if (Slice(Method).SequenceEqual("CONNECT"u8))
        {
            // RFC 9113 §8.5: CONNECT carries :authority and omits :scheme and :path.
            if (Scheme.Start >= 0 || PathAndQuery.Start >= 0 || Authority.Start < 0)
            {
                Malformed = "CONNECT with :scheme or :path, or without :authority";
            }

            return;
        }

        if (Scheme.Start < 0 || PathAndQuery.Start < 0 || PathAndQuery.Length == 0)
        {
            Malformed = "missing :scheme or :path";
            return;
        }

        var method = Slice(Method);
        if (method.IsEmpty || method.ContainsAnyExcept(HttpChars.Token))
        {
            Malformed = "invalid :method";
            return;
        }

        var path = Slice(PathAndQuery);
        bool asterisk = path.Length == 1 && path[0] == (byte)'*';
        if ((!asterisk && path[0] != (byte)'/') || path.ContainsAnyExcept(HttpChars.Target))
        {
            Malformed = "invalid :path";
            return;
        }

        if (asterisk && !method.SequenceEqual("OPTIONS"u8))
        {
            Malformed = ":path * outside OPTIONS";
            return;
        }

        if (Authority.Start >= 0 && HostField >= 0)
        {
            // RFC 9113 §8.3.1: a Host that names a different authority than :authority is malformed.
            GetField(HostField, out _, out _, out int vs, out int vl);
            if (!_buffer.AsSpan(vs, vl).SequenceEqual(Slice(Authority)))
            {
                Malformed = "host differs from :authority";
                return;
            }
        }

        if (Authority.Start >= 0 && HostField < 0)
        {
            // Apps read the host the HTTP/1.1 way (HTTP_HOST, ServerName): carry :authority as Host.
            var name = Append("host"u8);
            HostField = _fieldCount;
            AddFieldRanges(name, Authority);
        }
    }

    private static bool TryParseLength(ReadOnlySpan<byte> value, out long length)
    {
        length = 0;
        if (value.IsEmpty || value.Length > 18)
        {
            return false;
        }

        foreach (byte b in value)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            length = (length * 10) + (b - '0');
        }

        return true;
    }

    private void AddField(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        var n = Append(name);
        var v = Append(value);
        AddFieldRanges(n, v);
    }

    private void AddFieldRanges((int Start, int Length) name, (int Start, int Length) value)
    {
        if ((_fieldCount + 1) * 4 > _fields.Length)
        {
            Array.Resize(ref _fields, _fields.Length * 2);
        }

        int o = _fieldCount * 4;
        _fields[o] = name.Start;
        _fields[o + 1] = name.Length;
        _fields[o + 2] = value.Start;
        _fields[o + 3] = value.Length;
        _fieldCount++;
    }

    /// <summary>RFC 9113 §8.3: each request pseudo-header appears once; a second one makes the request malformed.</summary>
    private (int Start, int Length) Once((int Start, int Length) current, (int Start, int Length) value, string duplicate)
    {
        if (current.Start >= 0)
        {
            Malformed = duplicate;
            return current;
        }

        return value;
    }

    private (int Start, int Length) Append(ReadOnlySpan<byte> bytes)
    {
        if (_length + bytes.Length > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + bytes.Length));
        }

        bytes.CopyTo(_buffer.AsSpan(_length));
        int start = _length;
        _length += bytes.Length;
        return (start, bytes.Length);
    }
}
