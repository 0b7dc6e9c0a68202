using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Hyperion.Http2.Hpack;

/// <summary>The prefixed variable-length integers of RFC 7541 §5.1.</summary>
internal static class HpackInteger
{
    /// <summary>Most octets an encoded int32 takes: the prefix octet and five continuation octets.</summary>
    public const int MaxEncodedLength = 6;

    // Five continuation octets carry 35 bits, enough for any int32 plus the prefix; a sixth can only be
    // zero padding or an overflow, and accepting it would let a peer make us loop over junk.
    private const int MaxContinuationOctets = 5;

    /// <summary>
    /// Decodes the integer whose prefix occupies the low <paramref name="prefixBits"/> bits of
    /// <c>source[position]</c>, advancing <paramref name="position"/> past it. Throws
    /// <see cref="HpackDecodingException"/> when the input ends early or the value exceeds int32.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Decode(ReadOnlySpan<byte> source, ref int position, int prefixBits)
    {
        Debug.Assert(prefixBits is >= 1 and <= 8, "RFC 7541 §5.1 prefixes are 1..8 bits");
        int pos = position;
        if ((uint)pos < (uint)source.Length)
        {
            // Most indices and lengths fit in the prefix: one octet, no loop.
            int mask = (1 << prefixBits) - 1;
            int value = source[pos] & mask;
            if (value < mask)
            {
                position = pos + 1;
                return value;
            }
        }

        return DecodeContinued(source, ref position, prefixBits);
    }

    private static int DecodeContinued(ReadOnlySpan<byte> source, ref int position, int prefixBits)
    {
        int pos = position;
        if ((uint)pos >= (uint)source.Length)
        {
            ThrowTruncated();
        }

        int mask = (1 << prefixBits) - 1;
        int value = source[pos++] & mask;
        long total = value;
        int shift = 0;
        for (int i = 0; i < MaxContinuationOctets; i++)
        {
            if ((uint)pos >= (uint)source.Length)
            {
                ThrowTruncated();
            }

            byte b = source[pos++];
            total += (long)(b & 0x7F) << shift;
            if (total > int.MaxValue)
            {
                ThrowOverflow();
            }

            if ((b & 0x80) == 0)
            {
                position = pos;
                return (int)total;
            }

            shift += 7;
        }

        ThrowOverflow();
        return 0;
    }

    /// <summary>
    /// Encodes <paramref name="value"/> with a <paramref name="prefixBits"/>-bit prefix; the high bits of the first
    /// octet come from <paramref name="firstOctetFlags"/>. <paramref name="destination"/> must hold
    /// <see cref="MaxEncodedLength"/> octets. Returns the number written.
    /// </summary>
    public static int Encode(Span<byte> destination, int value, int prefixBits, byte firstOctetFlags)
    {
        Debug.Assert(value >= 0, "HPACK integers are unsigned");
        int mask = (1 << prefixBits) - 1;
        if (value < mask)
        {
            destination[0] = (byte)(firstOctetFlags | value);
            return 1;
        }

        destination[0] = (byte)(firstOctetFlags | mask);
        uint rest = (uint)(value - mask);
        int n = 1;
        while (rest >= 0x80)
        {
            destination[n++] = (byte)(rest | 0x80);
            rest >>= 7;
        }

        destination[n++] = (byte)rest;
        return n;
    }

    [DoesNotReturn]
    private static void ThrowTruncated() => throw new HpackDecodingException("Header block ends inside an integer (RFC 7541 §5.1).");

    [DoesNotReturn]
    private static void ThrowOverflow() => throw new HpackDecodingException("HPACK integer exceeds 2^31-1 (RFC 7541 §5.1).");
}
