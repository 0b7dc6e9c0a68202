namespace GrpcLoad;

/// <summary>
/// Splits one stream's DATA payloads into gRPC messages (PROTOCOL-HTTP2.md: a 1-byte compressed flag, a 4-byte
/// big-endian length, the message), however the server framed them: a message may span DATA frames and one frame may
/// carry many. Each message is compared with the expected reply as it streams past, without copying it.
/// </summary>
internal struct GrpcMessageReader
{
    private const int PrefixLength = 5;
    private int _prefixSeen;
    private long _length;
    private long _read;

    /// <summary>A message differed from the expected reply, or had the compressed flag set (we offer no encoding).</summary>
    public bool Mismatch { get; private set; }

    /// <summary>Bytes of a message still missing: the stream ended inside one when this is true at END_STREAM.</summary>
    public readonly bool InsideMessage => _prefixSeen > 0;

    /// <summary>Consumes <paramref name="data"/>; returns how many messages it completed.</summary>
    public int Feed(ReadOnlySpan<byte> data, byte[]? expected)
    {
        int completed = 0;
        while (!data.IsEmpty)
        {
            if (_prefixSeen < PrefixLength)
            {
                byte b = data[0];
                data = data[1..];
                if (_prefixSeen == 0)
                {
                    Mismatch |= b != 0;
                    _length = 0;
                    _read = 0;
                }
                else
                {
                    _length = (_length << 8) | b;
                }

                if (++_prefixSeen < PrefixLength || _length > 0)
                {
                    continue;
                }
            }
            else
            {
                int take = (int)Math.Min(data.Length, _length - _read);
                if (expected is not null
                    && (_read + take > expected.Length || !data[..take].SequenceEqual(expected.AsSpan((int)_read, take))))
                {
                    Mismatch = true;
                }

                _read += take;
                data = data[take..];
                if (_read < _length)
                {
                    continue;
                }
            }

            // A whole message: its prefix, then _length bytes.
            if (expected is not null && _length != expected.Length)
            {
                Mismatch = true;
            }

            _prefixSeen = 0;
            completed++;
        }

        return completed;
    }
}
