namespace Hyperion.Internal.Http;

/// <summary>
/// Why a request was refused. Numbered by range so logs and metric labels group naturally:
/// 1xx request line, 2xx headers, 3xx framing/body, 4xx timeouts and limits, 5xx server state.
/// Shared by HTTP/1.1 and HTTP/2, so the same bad request logs the same reason on either protocol.
/// </summary>
internal enum RejectionReason
{
    None = 0,

    InvalidRequestLine = 100,
    RequestLineTooLong = 101,
    InvalidMethod = 102,
    InvalidRequestTarget = 103,
    InvalidVersion = 104,
    UnsupportedVersion = 105,
    MethodNotImplemented = 106,

    InvalidHeaderLine = 200,
    InvalidHeaderName = 201,
    InvalidHeaderValue = 202,
    WhitespaceBeforeColon = 203,
    ObsoleteLineFolding = 204,
    HeadersTooLarge = 205,
    TooManyHeaders = 206,
    MissingHost = 207,
    DuplicateHost = 208,
    InvalidHost = 209,
    BareLineFeed = 210,
    UnsupportedExpectation = 211,
    ConnectionSpecificHeader = 212,
    InvalidPseudoHeader = 213,

    InvalidContentLength = 300,
    DuplicateContentLength = 301,
    ContentLengthWithTransferEncoding = 302,
    UnsupportedTransferCoding = 303,
    ChunkedNotFinal = 304,
    TransferEncodingOnHttp10 = 305,
    InvalidChunkSize = 306,
    InvalidChunkExtension = 307,
    InvalidChunkTerminator = 308,
    InvalidTrailer = 309,
    BodyTooLarge = 310,
    UnexpectedEndOfBody = 311,

    RequestHeadersTimeout = 400,
    MinBodyDataRate = 401,
}

internal static class RejectionReasonExtensions
{
    public static int StatusCode(this RejectionReason reason) => reason switch
    {
        RejectionReason.RequestLineTooLong => 414,
        RejectionReason.HeadersTooLarge or RejectionReason.TooManyHeaders => 431,
        RejectionReason.BodyTooLarge => 413,
        RejectionReason.UnsupportedExpectation => 417,
        RejectionReason.UnsupportedVersion => 505,
        RejectionReason.UnsupportedTransferCoding or RejectionReason.MethodNotImplemented => 501,
        RejectionReason.RequestHeadersTimeout or RejectionReason.MinBodyDataRate => 408,
        _ => 400,
    };
}
