using System.Buffers;
using Hyperion.Http2.Hpack;
using Hyperion.Internal.Http;

namespace Hyperion.Http2.Internal;

/// <summary>
/// Collects a decoded request (or trailer) field block and checks it against RFC 9113 §8.2 and §8.3, with the
/// field, target, host and Content-Length rules HTTP/1.1 uses (Internal/Http).
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

    /// <summary>Why the block is malformed (RFC 9113 §8.1.1), in the reasons HTTP/1.1 logs; None when it is not.</summary>
    public RejectionReason Malformed { get; private set; }

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
        Malformed = RejectionReason.None;
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
        if (Malformed != RejectionReason.None)
        {
            return;
        }

        if (name.IsEmpty)
        {
            Malformed = RejectionReason.InvalidHeaderName;
            return;
        }

        // RFC 9113 §8.2.1: no leading or trailing SP/HTAB; the characters are HTTP/1.1's (RFC 9110 §5.5), which
        // excludes NUL, CR and LF as §8.2.1 requires and every other control as HTTP/1.1 does.
        if (!value.IsEmpty && (value[0] is HttpChars.SP or HttpChars.HT || value[^1] is HttpChars.SP or HttpChars.HT))
        {
            Malformed = RejectionReason.InvalidHeaderValue;
            return;
        }

        if (!HeaderValidation.IsValidValue(value))
        {
            Malformed = RejectionReason.InvalidHeaderValue;
            return;
        }

        if (name[0] == HttpChars.Colon)
        {
            OnPseudo(name, value);
            return;
        }

        // RFC 9113 §8.2.1: a token as in HTTP/1.1 (RFC 9110 §5.1), and lowercase.
        if (!HeaderValidation.IsValidName(name) || name.IndexOfAnyInRange((byte)'A', (byte)'Z') >= 0)
        {
            Malformed = RejectionReason.InvalidHeaderName;
            return;
        }

        _sawRegular = true;
        if (HeaderValidation.IsConnectionSpecific(name) || (name.SequenceEqual("te"u8) && !value.SequenceEqual("trailers"u8)))
        {
            // RFC 9113 §8.2.2: connection-specific fields are malformed; TE may carry only "trailers".
            Malformed = RejectionReason.ConnectionSpecificHeader;
            return;
        }

        if (!Trailers)
        {
            switch (name.Length)
            {
                case 14 when name.SequenceEqual("content-length"u8):
                    // RFC 9110 §8.6 as HTTP/1.1 reads it: one value, digits only, no leading zeros.
                    if (ContentLength >= 0)
                    {
                        Malformed = RejectionReason.DuplicateContentLength;
                        return;
                    }

                    if (!HeaderValidation.TryParseContentLength(value, out long length))
                    {
                        Malformed = RejectionReason.InvalidContentLength;
                        return;
                    }

                    ContentLength = length;
                    break;
                case 4 when name.SequenceEqual("host"u8):
                    // RFC 9110 §7.2 and RFC 9112 §3.2: one Host, and a valid one.
                    if (HostField >= 0)
                    {
                        Malformed = RejectionReason.DuplicateHost;
                        return;
                    }

                    if (!HostValidation.IsValid(value))
                    {
                        Malformed = RejectionReason.InvalidHost;
                        return;
                    }

                    HostField = _fieldCount;
                    break;
            }
        }

        AddField(name, value);
    }

    private void OnPseudo(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        // RFC 9113 §8.1: trailers carry no pseudo-headers; §8.3: pseudo-headers come before regular fields.
        if (Trailers || _sawRegular)
        {
            Malformed = RejectionReason.InvalidPseudoHeader;
            return;
        }

        var range = Append(value);
        switch (name.Length)
        {
            case 5 when name.SequenceEqual(":path"u8):
                PathAndQuery = Once(PathAndQuery, range);
                return;
            case 7 when name.SequenceEqual(":method"u8):
                Method = Once(Method, range);
                return;
            case 7 when name.SequenceEqual(":scheme"u8):
                Scheme = Once(Scheme, range);
                return;
            case 10 when name.SequenceEqual(":authority"u8):
                Authority = Once(Authority, range);
                return;
            default:
                // RFC 9113 §8.3: unknown pseudo-headers (and response ones such as :status) are malformed.
                Malformed = RejectionReason.InvalidPseudoHeader;
                return;
        }
    }

    /// <summary>Checks what the whole block must contain (RFC 9113 §8.3.1); call after decoding.</summary>
    public void Complete()
    {
        if (Malformed != RejectionReason.None || Trailers)
        {
            return;
        }

        if (Method.Start < 0)
        {
            Malformed = RejectionReason.InvalidPseudoHeader;
            return;
        }

        var method = Slice(Method);
        if (!HttpChars.IsToken(method))
        {
            Malformed = RejectionReason.InvalidMethod;
            return;
        }

        if (method.SequenceEqual("CONNECT"u8))
        {
            // RFC 9113 §8.5: CONNECT carries :authority and omits :scheme and :path.
            if (Scheme.Start >= 0 || PathAndQuery.Start >= 0 || Authority.Start < 0)
            {
                Malformed = RejectionReason.InvalidPseudoHeader;
            }

            return;
        }

        if (Scheme.Start < 0 || PathAndQuery.Start < 0)
        {
            Malformed = RejectionReason.InvalidPseudoHeader;
            return;
        }

        // The target rules are HTTP/1.1's origin-form (RFC 9112 §3.2.1, RFC 9113 §8.3.1), asterisk-form for OPTIONS.
        var path = Slice(PathAndQuery);
        bool asterisk = path.Length == 1 && path[0] == (byte)'*';
        if (asterisk ? !method.SequenceEqual("OPTIONS"u8) : !RequestTargetRules.IsValidOriginForm(path))
        {
            Malformed = RejectionReason.InvalidRequestTarget;
            return;
        }

        if (Authority.Start >= 0)
        {
            // RFC 9113 §8.3.1: :authority is a Host value (no userinfo); a Host naming another authority is malformed.
            if (!HostValidation.IsValid(Slice(Authority)))
            {
                Malformed = RejectionReason.InvalidHost;
                return;
            }

            if (HostField >= 0)
            {
                GetField(HostField, out _, out _, out int vs, out int vl);
                if (!HostValidation.SameAuthority(_buffer.AsSpan(vs, vl), Slice(Authority)))
                {
                    Malformed = RejectionReason.InvalidHost;
                    return;
                }
            }
            else
            {
                // Apps read the host the HTTP/1.1 way (HTTP_HOST, ServerName): carry :authority as Host.
                var name = Append("host"u8);
                HostField = _fieldCount;
                AddFieldRanges(name, Authority);
            }
        }
    }

    /// <summary>
    /// The limits HTTP/1.1 applies to its request line, over the HTTP/1.1 line this request would be
    /// (<see cref="RequestLineRules"/>); None when within them. Call after <see cref="Complete"/> found no fault.
    /// </summary>
    public RejectionReason CheckRequestLine(int maxRequestLineSize)
    {
        var method = Slice(Method);
        int target = Math.Max(PathAndQuery.Length, 0);
        return RequestLineRules.Exceeds(method.Length, target, maxRequestLineSize)
            ? RequestLineRules.Blame(method, target)
            : RejectionReason.None;
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
    private (int Start, int Length) Once((int Start, int Length) current, (int Start, int Length) value)
    {
        if (current.Start >= 0)
        {
            Malformed = RejectionReason.InvalidPseudoHeader;
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
