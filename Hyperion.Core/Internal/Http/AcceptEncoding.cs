using System.Text;

namespace Hyperion.Internal.Http;

/// <summary>
/// Chooses a response content coding from the request's <c>Accept-Encoding</c> fields (RFC 9110 §12.5.3).
/// Shared by the compression middleware and the static routes of both protocols; reads the header bytes
/// in place, so choosing allocates nothing.
/// </summary>
internal static class AcceptEncoding
{
    private const int Unlisted = -1;

    /// <summary>
    /// The coding to send: among <paramref name="preference"/>, the one the client weights highest (q &gt; 0),
    /// ties broken by the server's order; identity when the field is absent, when nothing offered is acceptable
    /// (the field is then ignored, as §12.5.3 allows, rather than answered with 406), or when the client lists
    /// identity with a strictly higher weight.
    /// </summary>
    public static ContentCoding Select(RequestHeaders headers, ReadOnlySpan<ContentCoding> preference)
    {
        int index = headers.IndexOf("Accept-Encoding"u8, 0);
        if (index < 0 || preference.IsEmpty)
        {
            return ContentCoding.Identity;
        }

        var weights = new Weights();
        for (; index >= 0; index = headers.IndexOf("Accept-Encoding"u8, index + 1))
        {
            weights.Parse(headers.ValueBytes(index));
        }

        return weights.Choose(preference);
    }

    /// <summary>The same choice over one field value (unit tests, and callers that hold the value).</summary>
    public static ContentCoding Select(ReadOnlySpan<byte> fieldValue, ReadOnlySpan<ContentCoding> preference)
    {
        var weights = new Weights();
        weights.Parse(fieldValue);
        return weights.Choose(preference);
    }

    /// <summary>Weights in thousandths (q=0.5 is 500); <see cref="Unlisted"/> when the coding was not named.</summary>
    private struct Weights
    {
        private int _gzip;
        private int _brotli;
        private int _identity;
        private int _star;
        private bool _initialized;

        public void Parse(ReadOnlySpan<byte> value)
        {
            if (!_initialized)
            {
                _gzip = _brotli = _identity = _star = Unlisted;
                _initialized = true;
            }

            while (!value.IsEmpty)
            {
                int comma = value.IndexOf((byte)',');
                var element = comma < 0 ? value : value[..comma];
                value = comma < 0 ? default : value[(comma + 1)..];
                ParseElement(element);
            }
        }

        public readonly ContentCoding Choose(ReadOnlySpan<ContentCoding> preference)
        {
            if (!_initialized)
            {
                return ContentCoding.Identity;
            }

            var best = ContentCoding.Identity;
            int bestWeight = 0;
            foreach (var coding in preference)
            {
                int q = coding switch
                {
                    ContentCoding.Gzip => _gzip,
                    ContentCoding.Brotli => _brotli,
                    _ => Unlisted,
                };

                // §12.5.3: "*" matches any coding not listed explicitly.
                if (q == Unlisted)
                {
                    q = _star == Unlisted ? 0 : _star;
                }

                if (q > bestWeight)
                {
                    best = coding;
                    bestWeight = q;
                }
            }

            // Identity wins only when the client named it (or "*") with a strictly higher weight: unlisted, it is
            // acceptable but least preferred.
            return _identity > bestWeight ? ContentCoding.Identity : best;
        }

        private void ParseElement(ReadOnlySpan<byte> element)
        {
            int semicolon = element.IndexOf((byte)';');
            var coding = Trim(semicolon < 0 ? element : element[..semicolon]);
            if (coding.IsEmpty)
            {
                return;
            }

            int q = 1000;
            if (semicolon >= 0 && !TryParseWeight(element[(semicolon + 1)..], out q))
            {
                // A malformed weight makes the element meaningless; ignoring it is safer than guessing.
                return;
            }

            if (Ascii.EqualsIgnoreCase(coding, "gzip"u8) || Ascii.EqualsIgnoreCase(coding, "x-gzip"u8))
            {
                // §8.4.1.3: x-gzip is an alias of gzip.
                _gzip = Math.Max(_gzip, q);
            }
            else if (Ascii.EqualsIgnoreCase(coding, "br"u8))
            {
                _brotli = Math.Max(_brotli, q);
            }
            else if (Ascii.EqualsIgnoreCase(coding, "identity"u8))
            {
                _identity = Math.Max(_identity, q);
            }
            else if (coding.SequenceEqual("*"u8))
            {
                _star = Math.Max(_star, q);
            }
        }

        /// <summary>Parameters after the coding: only <c>q</c> is defined (§12.4.2: qvalue = 0[.ddd] / 1[.000]).</summary>
        private static bool TryParseWeight(ReadOnlySpan<byte> parameters, out int q)
        {
            q = 1000;
            var p = Trim(parameters);
            if (p.Length < 2 || (p[0] | 0x20) != 'q')
            {
                return false;
            }

            p = Trim(p[1..]);
            if (p.IsEmpty || p[0] != '=')
            {
                return false;
            }

            p = Trim(p[1..]);
            if (p.IsEmpty || p.Length > 5 || (p[0] != '0' && p[0] != '1'))
            {
                return false;
            }

            int value = (p[0] - '0') * 1000;
            if (p.Length > 1)
            {
                if (p[1] != '.')
                {
                    return false;
                }

                int scale = 100;
                for (int i = 2; i < p.Length; i++, scale /= 10)
                {
                    if (!char.IsAsciiDigit((char)p[i]) || (p[0] == '1' && p[i] != '0'))
                    {
                        return false;
                    }

                    value += (p[i] - '0') * scale;
                }
            }

            q = value;
            return true;
        }

        private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> s) => s.Trim(" \t"u8);
    }
}
