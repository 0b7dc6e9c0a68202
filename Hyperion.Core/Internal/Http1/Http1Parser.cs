using System.Text;
using System.Runtime.CompilerServices;
using Hyperion.Internal.Http;

namespace Hyperion.Internal.Http1;

internal enum ParseStatus
{
    Incomplete,
    Complete,
    Error,
}

/// <summary>What the connection needs from a request head to frame the message and decide keep-alive.</summary>
internal struct RequestHead
{
    public bool Http11;
    public long ContentLength;   // -1 when absent
    public bool Chunked;
    public bool ConnectionClose;
    public bool ConnectionKeepAlive;
    public bool ExpectContinue;
    public bool AsteriskForm;
    public bool HasUpgrade;

    public void Reset()
    {
        this = default;
        ContentLength = -1;
    }
}

/// <summary>
/// Strict HTTP/1.1 request-head parser (RFC 9112 §2–§7). Works on one contiguous span; records
/// offsets into the env so nothing is copied or allocated until the app asks.
/// Reject, do not guess: every ambiguity that could let two parsers disagree is an error.
/// </summary>
internal static class Http1Parser
{
    private const int MaxLeadingEmptyLines = 4;

    public static ParseStatus TryParse(
        ReadOnlySpan<byte> data,
        HyperionOptions limits,
        RackEnv env,
        ref RequestHead head,
        out int consumed,
        out RejectionReason reason)
    {
        consumed = 0;
        reason = RejectionReason.None;
        head.Reset();
        env.Headers.Clear();

        int pos = 0;

        // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line.
        for (int i = 0; i < MaxLeadingEmptyLines && pos < data.Length && (data[pos] == HttpChars.CR || data[pos] == HttpChars.LF); i++)
        {
            if (data[pos] == HttpChars.LF)
            {
                return Fail(RejectionReason.BareLineFeed, out reason);
            }

            if (pos + 1 >= data.Length)
            {
                return ParseStatus.Incomplete;
            }

            if (data[pos + 1] != HttpChars.LF)
            {
                return Fail(RejectionReason.InvalidRequestLine, out reason);
            }

            pos += 2;
        }

        var rest = data[pos..];
        int lf = rest.IndexOf(HttpChars.LF);
        if (lf < 0)
        {
            if (rest.Length > limits.MaxRequestLineSize)
            {
                return Fail(OverlongLineReason(rest), out reason);
            }

            // A CR or NUL already seen can never become a valid line; say so now rather than wait for the timeout.
            return rest.IndexOfAnyExcept(HttpChars.Target) is int bad && bad >= 0 && rest[bad] != HttpChars.SP && rest[bad] != HttpChars.CR
                ? Fail(RejectionReason.InvalidRequestLine, out reason)
                : ParseStatus.Incomplete;
        }

        if (lf > limits.MaxRequestLineSize)
        {
            return Fail(OverlongLineReason(rest[..lf]), out reason);
        }

        if (lf == 0 || rest[lf - 1] != HttpChars.CR)
        {
            return Fail(RejectionReason.BareLineFeed, out reason);
        }

        if (!ParseRequestLine(rest[..(lf - 1)], pos, env, ref head, out reason))
        {
            return ParseStatus.Error;
        }

        pos += lf + 1;
        int headersStart = pos;
        int hostIndex = -1;
        var codings = default(TransferCodings);

        while (true)
        {
            rest = data[pos..];
            lf = rest.IndexOf(HttpChars.LF);
            if (lf < 0)
            {
                if (pos - headersStart + rest.Length > limits.MaxRequestHeadersTotalSize)
                {
                    return Fail(RejectionReason.HeadersTooLarge, out reason);
                }

                int bad = rest.IndexOfAnyExcept(HttpChars.FieldValue);
                return bad >= 0 && rest[bad] != HttpChars.CR
                    ? Fail(RejectionReason.InvalidHeaderValue, out reason)
                    : ParseStatus.Incomplete;
            }

            if (pos - headersStart + lf + 1 > limits.MaxRequestHeadersTotalSize)
            {
                return Fail(RejectionReason.HeadersTooLarge, out reason);
            }

            if (lf == 0 || rest[lf - 1] != HttpChars.CR)
            {
                return Fail(RejectionReason.BareLineFeed, out reason);
            }

            var line = rest[..(lf - 1)];
            if (line.IsEmpty)
            {
                pos += 2;
                break;
            }

            if (line[0] == HttpChars.SP || line[0] == HttpChars.HT)
            {
                // RFC 9112 §5.2: obs-fold is rejected with 400 outside message/http.
                return Fail(RejectionReason.ObsoleteLineFolding, out reason);
            }

            int colon = line.IndexOf(HttpChars.Colon);
            if (colon <= 0)
            {
                return Fail(colon == 0 ? RejectionReason.InvalidHeaderName : RejectionReason.InvalidHeaderLine, out reason);
            }

            var name = line[..colon];
            if (name[^1] == HttpChars.SP || name[^1] == HttpChars.HT)
            {
                // RFC 9112 §5.1: whitespace between the field name and colon MUST be rejected with 400.
                return Fail(RejectionReason.WhitespaceBeforeColon, out reason);
            }

            if (!HeaderValidation.IsValidName(name))
            {
                return Fail(RejectionReason.InvalidHeaderName, out reason);
            }

            var rawValue = line[(colon + 1)..];
            if (!HeaderValidation.IsValidValue(rawValue))
            {
                // NUL, bare CR and other controls (RFC 9110 §5.5).
                return Fail(RejectionReason.InvalidHeaderValue, out reason);
            }

            int leading = rawValue.IndexOfAnyExcept(HttpChars.SP, HttpChars.HT);
            ReadOnlySpan<byte> value;
            int valueStart;
            if (leading < 0)
            {
                value = default;
                valueStart = pos + colon + 1;
            }
            else
            {
                int trailing = rawValue.LastIndexOfAnyExcept(HttpChars.SP, HttpChars.HT);
                value = rawValue[leading..(trailing + 1)];
                valueStart = pos + colon + 1 + leading;
            }

            if (env.Headers.Count >= limits.MaxRequestHeaderCount)
            {
                return Fail(RejectionReason.TooManyHeaders, out reason);
            }

            env.Headers.Add(pos, colon, valueStart, value.Length);

            switch (name.Length)
            {
                case 4 when Ascii.EqualsIgnoreCase(name, "Host"u8):
                    if (hostIndex >= 0)
                    {
                        return Fail(RejectionReason.DuplicateHost, out reason);
                    }

                    hostIndex = env.Headers.Count - 1;
                    break;

                case 14 when Ascii.EqualsIgnoreCase(name, "Content-Length"u8):
                    if (head.ContentLength >= 0)
                    {
                        return Fail(RejectionReason.DuplicateContentLength, out reason);
                    }

                    if (!HeaderValidation.TryParseContentLength(value, out head.ContentLength))
                    {
                        return Fail(RejectionReason.InvalidContentLength, out reason);
                    }

                    break;

                case 17 when Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8):
                    codings.Seen = true;
                    if (!ParseTransferCodings(value, ref codings))
                    {
                        return Fail(RejectionReason.InvalidHeaderValue, out reason);
                    }

                    break;

                case 10 when Ascii.EqualsIgnoreCase(name, "Connection"u8):
                    ParseConnection(value, ref head);
                    break;

                case 6 when Ascii.EqualsIgnoreCase(name, "Expect"u8):
                    if (!Ascii.EqualsIgnoreCase(value, "100-continue"u8))
                    {
                        return Fail(RejectionReason.UnsupportedExpectation, out reason);
                    }

                    head.ExpectContinue = true;
                    break;
            }

            pos += lf + 1;
        }

        if (codings.Seen)
        {
            if (!head.Http11)
            {
                // RFC 9112 §6.1: chunked is not defined for HTTP/1.0; treat the framing as faulty.
                return Fail(RejectionReason.TransferEncodingOnHttp10, out reason);
            }

            if (head.ContentLength >= 0)
            {
                // RFC 9112 §6.3: CL together with TE is a smuggling vector; reject.
                return Fail(RejectionReason.ContentLengthWithTransferEncoding, out reason);
            }

            if (!codings.LastIsChunked || codings.ChunkedCount > 1)
            {
                // RFC 9112 §6.3: chunked must be the final coding, applied once; otherwise 400 and close.
                return Fail(RejectionReason.ChunkedNotFinal, out reason);
            }

            if (codings.Other)
            {
                // RFC 9112 §6.1: a coding we do not implement gets 501.
                return Fail(RejectionReason.UnsupportedTransferCoding, out reason);
            }

            head.Chunked = true;
        }

        if (hostIndex < 0)
        {
            if (head.Http11)
            {
                // RFC 9112 §3.2: a 1.1 request without Host MUST get 400.
                return Fail(RejectionReason.MissingHost, out reason);
            }
        }
        else
        {
            var host = env.Headers.ValueBytesIn(data, hostIndex);
            if (!HostValidation.IsValid(host))
            {
                return Fail(RejectionReason.InvalidHost, out reason);
            }

            if (env.AuthorityIn(data, out var authority) && !HostValidation.SameAuthority(authority, host))
            {
                return Fail(RejectionReason.InvalidHost, out reason);
            }
        }

        consumed = pos;
        return ParseStatus.Complete;
    }

    private static bool ParseRequestLine(ReadOnlySpan<byte> line, int lineStart, RackEnv env, ref RequestHead head, out RejectionReason reason)
    {
        reason = RejectionReason.None;
        int sp1 = line.IndexOf(HttpChars.SP);
        if (sp1 <= 0)
        {
            reason = sp1 == 0 ? RejectionReason.InvalidMethod : RejectionReason.InvalidRequestLine;
            return false;
        }

        var method = line[..sp1];
        if (method.ContainsAnyExcept(HttpChars.Token))
        {
            reason = RejectionReason.InvalidMethod;
            return false;
        }

        var afterMethod = line[(sp1 + 1)..];
        int sp2 = afterMethod.IndexOf(HttpChars.SP);
        if (sp2 <= 0)
        {
            reason = RejectionReason.InvalidRequestLine;
            return false;
        }

        var target = afterMethod[..sp2];
        var version = afterMethod[(sp2 + 1)..];
        if (!ParseVersion(version, ref head, out reason))
        {
            return false;
        }

        env.Method = KnownMethods.GetOrCreate(method);
        env.Protocol = head.Http11 ? "HTTP/1.1" : "HTTP/1.0";

        if (ReferenceEquals(env.Method, KnownMethods.Connect))
        {
            // We are an origin server, not a tunnel: CONNECT is not implemented (RFC 9110 §9.3.6).
            reason = RejectionReason.MethodNotImplemented;
            return false;
        }

        if (target.ContainsAnyExcept(HttpChars.Target))
        {
            reason = RejectionReason.InvalidRequestTarget;
            return false;
        }

        int targetStart = lineStart + sp1 + 1;
        if (target[0] == (byte)'/')
        {
            return SetOriginForm(target, targetStart, env, out reason);
        }

        if (target.Length == 1 && target[0] == (byte)'*')
        {
            if (!ReferenceEquals(env.Method, KnownMethods.Options))
            {
                reason = RejectionReason.InvalidRequestTarget;
                return false;
            }

            head.AsteriskForm = true;
            env.SetTarget(targetStart, 1, -1, 0);
            return true;
        }

        // absolute-form (RFC 9112 §3.2.2): the authority replaces Host.
        int schemeLength = target.StartsWith("http://"u8) || StartsWithIgnoreCase(target, "http://"u8) ? 7
            : StartsWithIgnoreCase(target, "https://"u8) ? 8 : 0;
        if (schemeLength == 0)
        {
            reason = RejectionReason.InvalidRequestTarget;
            return false;
        }

        var afterScheme = target[schemeLength..];
        int authorityEnd = afterScheme.IndexOfAny((byte)'/', (byte)'?');
        var authority = authorityEnd < 0 ? afterScheme : afterScheme[..authorityEnd];
        if (!HostValidation.IsValid(authority))
        {
            reason = RejectionReason.InvalidRequestTarget;
            return false;
        }

        env.SetAuthority(targetStart + schemeLength, authority.Length);
        if (authorityEnd < 0)
        {
            env.SetTarget(0, 0, -1, 0);
            env.SetKnownPath("/");
            return true;
        }

        var pathAndQuery = afterScheme[authorityEnd..];
        int pathStart = targetStart + schemeLength + authorityEnd;
        if (pathAndQuery[0] == (byte)'?')
        {
            if (!RequestTargetRules.PercentEscapesAreSafe(pathAndQuery))
            {
                reason = RejectionReason.InvalidRequestTarget;
                return false;
            }

            env.SetTarget(0, 0, pathStart + 1, pathAndQuery.Length - 1);
            env.SetKnownPath("/");
            return true;
        }

        return SetOriginForm(pathAndQuery, pathStart, env, out reason);
    }

    private static bool SetOriginForm(ReadOnlySpan<byte> target, int targetStart, RackEnv env, out RejectionReason reason)
    {
        if (!RequestTargetRules.IsValidOriginForm(target))
        {
            reason = RejectionReason.InvalidRequestTarget;
            return false;
        }

        reason = RejectionReason.None;
        int q = target.IndexOf((byte)'?');
        if (q < 0)
        {
            env.SetTarget(targetStart, target.Length, -1, 0);
        }
        else
        {
            env.SetTarget(targetStart, q, targetStart + q + 1, target.Length - q - 1);
        }

        return true;
    }

    /// <summary>The line (or what has arrived of it) is over MaxRequestLineSize: say which part is too long.</summary>
    private static RejectionReason OverlongLineReason(ReadOnlySpan<byte> line)
    {
        int sp1 = line.IndexOf(HttpChars.SP);
        if (sp1 < 0)
        {
            return RequestLineRules.Blame(line, -1);
        }

        if (sp1 == 0)
        {
            return RejectionReason.InvalidMethod;
        }

        var method = line[..sp1];
        var afterMethod = line[(sp1 + 1)..];
        int sp2 = afterMethod.IndexOf(HttpChars.SP);
        if (sp2 < 0)
        {
            return RequestLineRules.Blame(method, afterMethod.Length);
        }

        // A version longer than "HTTP/1.1" is what runs on (RFC 9112 §2.3: exactly "HTTP/" DIGIT "." DIGIT).
        var version = afterMethod[(sp2 + 1)..].TrimEnd(HttpChars.CR);
        return version.Length > "HTTP/1.1".Length ? RejectionReason.InvalidVersion : RequestLineRules.Blame(method, sp2);
    }

    private static bool StartsWithIgnoreCase(ReadOnlySpan<byte> s, ReadOnlySpan<byte> prefix)
        => s.Length >= prefix.Length && Ascii.EqualsIgnoreCase(s[..prefix.Length], prefix);

    private static bool ParseVersion(ReadOnlySpan<byte> version, ref RequestHead head, out RejectionReason reason)
    {
        reason = RejectionReason.None;
        if (version.Length == 8 && version.StartsWith("HTTP/"u8) && version[6] == (byte)'.'
            && char.IsAsciiDigit((char)version[5]) && char.IsAsciiDigit((char)version[7]))
        {
            int major = version[5] - '0';
            int minor = version[7] - '0';
            if (major != 1)
            {
                reason = RejectionReason.UnsupportedVersion;
                return false;
            }

            // RFC 9110 §6.2: a higher 1.x minor version is answered as 1.1.
            head.Http11 = minor >= 1;
            return true;
        }

        reason = RejectionReason.InvalidVersion;
        return false;
    }

    /// <summary>Reads one Transfer-Encoding field line's list into <paramref name="codings"/>. False on a malformed element.</summary>
    private static bool ParseTransferCodings(ReadOnlySpan<byte> value, ref TransferCodings codings)
    {
        bool any = false;
        foreach (var range in value.Split((byte)','))
        {
            var element = Trim(value[range]);
            if (element.IsEmpty)
            {
                continue; // RFC 9110 §5.6.1: empty list elements are ignored.
            }

            any = true;
            if (Ascii.EqualsIgnoreCase(element, "chunked"u8))
            {
                codings.ChunkedCount++;
                codings.LastIsChunked = true;
                continue;
            }

            int semi = element.IndexOf((byte)';');
            if (!HttpChars.IsToken(semi < 0 ? element : Trim(element[..semi])))
            {
                return false;
            }

            codings.LastIsChunked = false;
            codings.Other = true;
        }

        return any;
    }

    private struct TransferCodings
    {
        public bool Seen;
        public int ChunkedCount;
        public bool LastIsChunked;
        public bool Other;
    }

    private static void ParseConnection(ReadOnlySpan<byte> value, ref RequestHead head)
    {
        foreach (var range in value.Split((byte)','))
        {
            var token = Trim(value[range]);
            if (Ascii.EqualsIgnoreCase(token, "close"u8))
            {
                head.ConnectionClose = true;
            }
            else if (Ascii.EqualsIgnoreCase(token, "keep-alive"u8))
            {
                head.ConnectionKeepAlive = true;
            }
            else if (Ascii.EqualsIgnoreCase(token, "upgrade"u8))
            {
                head.HasUpgrade = true;
            }
        }
    }

    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> s)
    {
        int start = s.IndexOfAnyExcept(HttpChars.SP, HttpChars.HT);
        if (start < 0)
        {
            return default;
        }

        int end = s.LastIndexOfAnyExcept(HttpChars.SP, HttpChars.HT);
        return s[start..(end + 1)];
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ParseStatus Fail(RejectionReason r, out RejectionReason reason)
    {
        reason = r;
        return ParseStatus.Error;
    }
}
