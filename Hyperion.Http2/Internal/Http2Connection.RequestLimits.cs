using Hyperion.Internal.Timeouts;
using Hyperion.Internal.Http;

namespace Hyperion.Http2.Internal;

/// <summary>
/// The request limits HTTP/1.1 applies, applied to HTTP/2 streams: header list size and count, the request
/// line (see <see cref="RequestLineRules"/>), the request-headers timeout, and the reset budget our own refusals share.
/// </summary>
internal sealed partial class Http2Connection
{
    private volatile bool _headerBlockTimedOut;

    /// <summary>
    /// RFC 9113 §10.5.1: a header list over what we advertised (SETTINGS_MAX_HEADER_LIST_SIZE, at most
    /// MaxRequestHeadersTotalSize) or with more than MaxRequestHeaderCount fields is answered with 431 on the stream.
    /// The decoder processed the whole block, so the HPACK table is in step and the connection lives on; a
    /// COMPRESSION_ERROR would cost every other stream on it.
    /// </summary>
    private RejectionReason CheckRequestLimits(bool fits)
    {
        if (!fits)
        {
            return RejectionReason.HeadersTooLarge;
        }

        // :authority stands for the Host field HTTP/1.1 would count (the sink adds it as host after this check).
        int fields = _sink.FieldCount + (_sink.Authority.Start >= 0 && _sink.HostField < 0 ? 1 : 0);
        return fields > _server.Options.MaxRequestHeaderCount ? RejectionReason.TooManyHeaders : RejectionReason.None;
    }

    /// <summary>
    /// Ends a stream we refuse (REFUSED_STREAM) or find malformed with our RST_STREAM. Each one costs us a stream
    /// set-up like a client's reset does, so it draws on the same rapid-reset budget (CVE-2023-44487): a client
    /// that only sends streams we must refuse gets GOAWAY ENHANCE_YOUR_CALM as a resetting one does.
    /// </summary>
    private void RefuseStream(int streamId, Http2ErrorCode code, RejectionReason reason)
    {
        if (reason != RejectionReason.None)
        {
            string method = _sink.Method.Start >= 0 ? KnownMethods.GetOrCreate(_sink.Slice(_sink.Method)) : "-";
            _server.Log.StreamRejected(_context.RemoteText, method, reason, $"RST_STREAM {code}");
        }

        // Counted first: past the budget the GOAWAY answers this stream too.
        CountReset();
        ResetNewStream(streamId, code);
    }

    /// <summary>A HEADERS frame without END_HEADERS arms the request-headers deadline (RequestHeadersTimeout) on the connection's timeout controller.</summary>
    private void StartHeaderBlockClock() => _context.Timeouts.SetTimeout(TimeoutReason.RequestHeaders, _server.Options.RequestHeadersTimeout);

    /// <summary>The block completed (END_HEADERS): its deadline no longer applies.</summary>
    private void StopHeaderBlockClock() => _context.Timeouts.CancelTimeout(TimeoutReason.RequestHeaders);

    /// <summary>
    /// The connection's scheduler: a header block still open after RequestHeadersTimeout (a slowloris in CONTINUATION
    /// frames) holds every stream of the connection, since nothing may interleave with it (RFC 9113 §6.10) and the
    /// HPACK state cannot be kept without the rest of it: the read loop ends the connection.
    /// </summary>
    private void OnHeaderBlockTimeout()
    {
        if (Volatile.Read(ref _headerStreamId) != 0)
        {
            _headerBlockTimedOut = true;
            _input.CancelPendingRead();
        }
    }

    private void ThrowIfHeaderBlockTimedOut()
    {
        if (_headerBlockTimedOut && _headerStreamId != 0)
        {
            _server.Log.StreamRejected(_context.RemoteText, "-", RejectionReason.RequestHeadersTimeout, $"GOAWAY {Http2ErrorCode.EnhanceYourCalm}");
            throw new Http2ConnectionException(Http2ErrorCode.EnhanceYourCalm, "The request headers did not complete within RequestHeadersTimeout.");
        }

        _headerBlockTimedOut = false;
    }
}
