using System.Text;
using Hyperion;
using Hyperion.Tests.Infrastructure;
using R = Hyperion.Internal.Http.RejectionReason;

namespace Hyperion.Tests.Http1;

/// <summary>
/// The invalid-input table: one line per case, with the status RFC 9110/9112 calls for and the rejection reason
/// logged. Every case must get exactly that status, Connection: close, an empty body, the connection closed, one
/// log line at Information naming that reason — and the server must go on serving everyone else.
/// </summary>
public abstract class BadRequestTests : TransportTests, IAsyncLifetime
{
    private const string H = "Host: a\r\n";
    private const string Post = "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    private const int BodyLimit = 100_000;

    private TestServer _server = null!;

    public static TheoryData<string, string, int, string> Cases() => new()
    {
        // ---- request line (RFC 9112 §3) ----
        { "method with (", "GE(T / HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidMethod) },
        { "method with @", "G@T / HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidMethod) },
        { "method with {", "GET{ / HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidMethod) },
        { "method with NUL", "G\0ET / HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidMethod) },
        { "method with CTL", "GE\u0001T / HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidMethod) },
        { "leading space", " GET / HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidMethod) },
        { "leading tab", "\tGET / HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidMethod) },
        { "double space after method", "GET  / HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestLine) },
        { "double space before version", "GET /  HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidVersion) },
        { "trailing space after version", "GET / HTTP/1.1 \r\n" + H + "\r\n", 400, nameof(R.InvalidVersion) },
        { "tabs as separators", "GET\t/\tHTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestLine) },
        { "missing version", "GET /\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestLine) },
        { "method only", "GET\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestLine) },
        { "missing method", "/ HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidMethod) },
        { "extra token", "GET / HTTP/1.1 extra\r\n" + H + "\r\n", 400, nameof(R.InvalidVersion) },
        { "space inside target", "GET /a b HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidVersion) },
        { "NUL in target", "GET /a\0b HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "CTL in target", "GET /a\u0001b HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "DEL in target", "GET /a\u007fb HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "non-ASCII in target", "GET /caf\u00e9 HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "0x80 in target", "GET /a\u0080 HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "fragment in target", "GET /a#b HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "bad percent escape", "GET /a%zz HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "truncated percent escape", "GET /a%4 HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "trailing percent", "GET /a% HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "bad percent in query", "GET /a?x=%g1 HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "target without slash", "GET a HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "asterisk with GET", "GET * HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "absolute-form with userinfo", "GET http://user@a/ HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "absolute-form with user:pw", "GET http://u:p@a/ HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "absolute-form empty authority", "GET http:///x HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "absolute-form unknown scheme", "GET ftp://a/ HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "absolute-form bad port", "GET http://a:99999/ HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "CONNECT is not implemented", "CONNECT a:443 HTTP/1.1\r\n" + H + "\r\n", 501, nameof(R.MethodNotImplemented) },
        { "HTTP/2.0 on h1", "GET / HTTP/2.0\r\n" + H + "\r\n", 505, nameof(R.UnsupportedVersion) },
        { "HTTP/3.0", "GET / HTTP/3.0\r\n" + H + "\r\n", 505, nameof(R.UnsupportedVersion) },
        { "HTTP/0.9", "GET / HTTP/0.9\r\n" + H + "\r\n", 505, nameof(R.UnsupportedVersion) },
        { "version without minor", "GET / HTTP/1\r\n" + H + "\r\n", 400, nameof(R.InvalidVersion) },
        { "version with three parts", "GET / HTTP/1.1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidVersion) },
        { "lowercase protocol", "GET / http/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidVersion) },
        { "space inside version", "GET / HTTP /1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidVersion) },
        { "letter as minor", "GET / HTTP/1.a\r\n" + H + "\r\n", 400, nameof(R.InvalidVersion) },
        { "no dot in version", "GET / HTTP/11\r\n" + H + "\r\n", 400, nameof(R.InvalidVersion) },
        { "two-digit minor", "GET / HTTP/1.10\r\n" + H + "\r\n", 400, nameof(R.InvalidVersion) },
        { "request line too long", "GET /" + new string('a', 9000) + " HTTP/1.1\r\n" + H + "\r\n", 414, nameof(R.RequestLineTooLong) },
        { "request line too long without LF yet", "GET /" + new string('a', 9000), 414, nameof(R.RequestLineTooLong) },
        { "overlong method", new string('M', 9000) + " / HTTP/1.1\r\n" + H + "\r\n", 501, nameof(R.MethodNotImplemented) },
        { "overlong method without SP yet", new string('M', 9000), 501, nameof(R.MethodNotImplemented) },
        { "overlong method with a bad byte", "M@" + new string('M', 9000) + " / HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidMethod) },
        { "overlong method longer than its target", new string('M', 4500) + " /" + new string('a', 4000) + " HTTP/1.1\r\n" + H + "\r\n", 501, nameof(R.MethodNotImplemented) },
        { "overlong target longer than its method", new string('M', 3000) + " /" + new string('a', 6000) + " HTTP/1.1\r\n" + H + "\r\n", 414, nameof(R.RequestLineTooLong) },
        { "overlong version", "GET / HTTP/1.1" + new string('1', 9000) + "\r\n" + H + "\r\n", 400, nameof(R.InvalidVersion) },
        { "escape decoding to NUL", "GET /a%00b HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "escape decoding to CR", "GET /a%0Db HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "escape decoding to LF", "GET /a%0ab HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "escape decoding to LF in the query", "GET /a?x=%0A HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "escape decoding to NUL in an absolute-form query", "GET http://a?x=%00 HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "backslash in the path", "GET /a\\b HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "backslash in an absolute-form path", "GET http://a/a\\b HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "bare LF line endings", "GET / HTTP/1.1\nHost: a\n\n", 400, nameof(R.BareLineFeed) },
        { "bare LF after request line", "GET / HTTP/1.1\n" + H + "\r\n", 400, nameof(R.BareLineFeed) },
        { "bare CR in request line", "GET /\r HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestTarget) },
        { "leading bare LF", "\nGET / HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.BareLineFeed) },
        { "leading CR CR LF", "\r\r\nGET / HTTP/1.1\r\n" + H + "\r\n", 400, nameof(R.InvalidRequestLine) },

        // ---- header fields (RFC 9112 §5, RFC 9110 §5) ----
        { "space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, nameof(R.WhitespaceBeforeColon) },
        { "tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400, nameof(R.WhitespaceBeforeColon) },
        { "space before colon, other field", "GET / HTTP/1.1\r\n" + H + "X-A : b\r\n\r\n", 400, nameof(R.WhitespaceBeforeColon) },
        { "obs-fold with space", "GET / HTTP/1.1\r\n" + H + "X-A: b\r\n c\r\n\r\n", 400, nameof(R.ObsoleteLineFolding) },
        { "obs-fold with tab", "GET / HTTP/1.1\r\n" + H + "X-A: b\r\n\tc\r\n\r\n", 400, nameof(R.ObsoleteLineFolding) },
        { "first field folded", "GET / HTTP/1.1\r\n " + H + "\r\n", 400, nameof(R.ObsoleteLineFolding) },
        { "empty field name", "GET / HTTP/1.1\r\n" + H + ": x\r\n\r\n", 400, nameof(R.InvalidHeaderName) },
        { "name with (", "GET / HTTP/1.1\r\n" + H + "X(A: b\r\n\r\n", 400, nameof(R.InvalidHeaderName) },
        { "name with quote", "GET / HTTP/1.1\r\n" + H + "X\"A: b\r\n\r\n", 400, nameof(R.InvalidHeaderName) },
        { "name with slash", "GET / HTTP/1.1\r\n" + H + "X/A: b\r\n\r\n", 400, nameof(R.InvalidHeaderName) },
        { "name with @", "GET / HTTP/1.1\r\n" + H + "X@A: b\r\n\r\n", 400, nameof(R.InvalidHeaderName) },
        { "name with inner space", "GET / HTTP/1.1\r\n" + H + "X A: b\r\n\r\n", 400, nameof(R.InvalidHeaderName) },
        { "name with non-ASCII", "GET / HTTP/1.1\r\n" + H + "X\u00e9: b\r\n\r\n", 400, nameof(R.InvalidHeaderName) },
        { "name with NUL", "GET / HTTP/1.1\r\n" + H + "X\0A: b\r\n\r\n", 400, nameof(R.InvalidHeaderName) },
        { "missing colon", "GET / HTTP/1.1\r\n" + H + "XA b\r\n\r\n", 400, nameof(R.InvalidHeaderLine) },
        { "NUL in value", "GET / HTTP/1.1\r\n" + H + "X: a\0b\r\n\r\n", 400, nameof(R.InvalidHeaderValue) },
        { "bare CR in value", "GET / HTTP/1.1\r\n" + H + "X: a\rb\r\n\r\n", 400, nameof(R.InvalidHeaderValue) },
        { "0x01 in value", "GET / HTTP/1.1\r\n" + H + "X: a\u0001b\r\n\r\n", 400, nameof(R.InvalidHeaderValue) },
        { "0x1f in value", "GET / HTTP/1.1\r\n" + H + "X: a\u001fb\r\n\r\n", 400, nameof(R.InvalidHeaderValue) },
        { "DEL in value", "GET / HTTP/1.1\r\n" + H + "X: a\u007fb\r\n\r\n", 400, nameof(R.InvalidHeaderValue) },
        { "vertical tab in value", "GET / HTTP/1.1\r\n" + H + "X: a\u000bb\r\n\r\n", 400, nameof(R.InvalidHeaderValue) },
        { "form feed in value", "GET / HTTP/1.1\r\n" + H + "X: a\u000cb\r\n\r\n", 400, nameof(R.InvalidHeaderValue) },
        { "bare LF ends a field", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400, nameof(R.BareLineFeed) },
        { "bare LF ends the head", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400, nameof(R.BareLineFeed) },
        { "header section too large", "GET / HTTP/1.1\r\n" + H + "X: " + new string('a', 33 * 1024) + "\r\n\r\n", 431, nameof(R.HeadersTooLarge) },
        { "header section too large, many fields", "GET / HTTP/1.1\r\n" + H + string.Concat(Enumerable.Range(0, 90).Select(i => $"X-{i}: {new string('b', 400)}\r\n")) + "\r\n", 431, nameof(R.HeadersTooLarge) },
        { "too many fields", "GET / HTTP/1.1\r\n" + H + string.Concat(Enumerable.Range(0, 101).Select(i => $"X-{i}: v\r\n")) + "\r\n", 431, nameof(R.TooManyHeaders) },
        { "unknown expectation", "GET / HTTP/1.1\r\n" + H + "Expect: something\r\n\r\n", 417, nameof(R.UnsupportedExpectation) },
        { "expectation list", "GET / HTTP/1.1\r\n" + H + "Expect: 100-continue, foo\r\n\r\n", 417, nameof(R.UnsupportedExpectation) },

        // ---- Host (RFC 9112 §3.2, RFC 9110 §7.2) ----
        { "missing Host on 1.1", "GET / HTTP/1.1\r\n\r\n", 400, nameof(R.MissingHost) },
        { "duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400, nameof(R.DuplicateHost) },
        { "duplicate Host, different", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, nameof(R.DuplicateHost) },
        { "empty Host", "GET / HTTP/1.1\r\nHost: \r\n\r\n", 400, nameof(R.InvalidHost) },
        { "Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, nameof(R.InvalidHost) },
        { "Host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, nameof(R.InvalidHost) },
        { "Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, nameof(R.InvalidHost) },
        { "Host with ?", "GET / HTTP/1.1\r\nHost: a?b\r\n\r\n", 400, nameof(R.InvalidHost) },
        { "Host with #", "GET / HTTP/1.1\r\nHost: a#b\r\n\r\n", 400, nameof(R.InvalidHost) },
        { "Host with backslash", "GET / HTTP/1.1\r\nHost: a\\b\r\n\r\n", 400, nameof(R.InvalidHost) },
        { "Host port letters", "GET / HTTP/1.1\r\nHost: a:xx\r\n\r\n", 400, nameof(R.InvalidHost) },
        { "Host port too big", "GET / HTTP/1.1\r\nHost: a:70000\r\n\r\n", 400, nameof(R.InvalidHost) },
        { "Host port six digits", "GET / HTTP/1.1\r\nHost: a:123456\r\n\r\n", 400, nameof(R.InvalidHost) },
        { "Host two ports", "GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n", 400, nameof(R.InvalidHost) },
        { "Host unbalanced bracket", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400, nameof(R.InvalidHost) },
        { "Host junk after bracket", "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", 400, nameof(R.InvalidHost) },
        { "Host bad IPv6 literal", "GET / HTTP/1.1\r\nHost: [zz::1]\r\n\r\n", 400, nameof(R.InvalidHost) },
        { "Host bad percent escape", "GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", 400, nameof(R.InvalidHost) },
        { "absolute-form authority differs from Host", "GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n", 400, nameof(R.InvalidHost) },

        // ---- Content-Length (RFC 9110 §8.6, RFC 9112 §6.3) ----
        { "CL negative", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: -1\r\n\r\n", 400, nameof(R.InvalidContentLength) },
        { "CL plus sign", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: +5\r\n\r\nhello", 400, nameof(R.InvalidContentLength) },
        { "CL inner space", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 5 5\r\n\r\nhello", 400, nameof(R.InvalidContentLength) },
        { "CL inner tab", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 5\t5\r\n\r\nhello", 400, nameof(R.InvalidContentLength) },
        { "CL hex", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 0x10\r\n\r\n", 400, nameof(R.InvalidContentLength) },
        { "CL exponent", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 1e3\r\n\r\n", 400, nameof(R.InvalidContentLength) },
        { "CL list same", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 5,5\r\n\r\nhello", 400, nameof(R.InvalidContentLength) },
        { "CL list different", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 5, 6\r\n\r\nhello", 400, nameof(R.InvalidContentLength) },
        { "CL duplicate same", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400, nameof(R.DuplicateContentLength) },
        { "CL duplicate different", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400, nameof(R.DuplicateContentLength) },
        { "CL leading zeros", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 005\r\n\r\nhello", 400, nameof(R.InvalidContentLength) },
        { "CL double zero", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 00\r\n\r\n", 400, nameof(R.InvalidContentLength) },
        { "CL empty", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: \r\n\r\n", 400, nameof(R.InvalidContentLength) },
        { "CL superscript digit", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: \u00b2\r\n\r\n", 400, nameof(R.InvalidContentLength) },
        { "CL letters", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: five\r\n\r\n", 400, nameof(R.InvalidContentLength) },
        { "CL overflow", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 99999999999999999999\r\n\r\n", 400, nameof(R.InvalidContentLength) },
        { "CL over the body limit", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: " + (BodyLimit + 1) + "\r\n\r\n", 413, nameof(R.BodyTooLarge) },

        // ---- Transfer-Encoding (RFC 9112 §6.1, §6.3) ----
        { "CL then TE", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, nameof(R.ContentLengthWithTransferEncoding) },
        { "TE then CL", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400, nameof(R.ContentLengthWithTransferEncoding) },
        { "TE on HTTP/1.0", "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, nameof(R.TransferEncodingOnHttp10) },
        { "TE gzip alone", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip\r\n\r\n", 400, nameof(R.ChunkedNotFinal) },
        { "TE chunked then gzip", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400, nameof(R.ChunkedNotFinal) },
        { "TE chunked twice in a list", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400, nameof(R.ChunkedNotFinal) },
        { "TE chunked twice as fields", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, nameof(R.ChunkedNotFinal) },
        { "TE identity", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: identity\r\n\r\n", 400, nameof(R.ChunkedNotFinal) },
        { "TE gzip, chunked", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501, nameof(R.UnsupportedTransferCoding) },
        { "TE deflate, chunked", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: deflate, chunked\r\n\r\n0\r\n\r\n", 501, nameof(R.UnsupportedTransferCoding) },
        { "TE custom, chunked", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: x-custom, chunked\r\n\r\n0\r\n\r\n", 501, nameof(R.UnsupportedTransferCoding) },
        { "TE gzip then chunked as fields", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501, nameof(R.UnsupportedTransferCoding) },
        { "TE chunk", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunk\r\n\r\n", 400, nameof(R.ChunkedNotFinal) },
        { "TE xchunked", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: xchunked\r\n\r\n", 400, nameof(R.ChunkedNotFinal) },
        { "TE chunked with parameter", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked;q=1\r\n\r\n", 400, nameof(R.ChunkedNotFinal) },
        { "TE quoted chunked", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: \"chunked\"\r\n\r\n", 400, nameof(R.InvalidHeaderValue) },
        { "TE chunked with vertical tab", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\u000b\r\n\r\n", 400, nameof(R.InvalidHeaderValue) },
        { "TE space before colon", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding : chunked\r\n\r\n", 400, nameof(R.WhitespaceBeforeColon) },
        { "TE empty", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: \r\n\r\n", 400, nameof(R.InvalidHeaderValue) },
        { "TE only commas", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: , ,\r\n\r\n", 400, nameof(R.InvalidHeaderValue) },
        { "TE inner space", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chun ked\r\n\r\n", 400, nameof(R.InvalidHeaderValue) },

        // ---- chunked framing (RFC 9112 §7.1) ----
        { "chunk size g", Post + "g\r\nhello\r\n0\r\n\r\n", 400, nameof(R.InvalidChunkSize) },
        { "chunk size -1", Post + "-1\r\nhello\r\n0\r\n\r\n", 400, nameof(R.InvalidChunkSize) },
        { "chunk size +1", Post + "+1\r\nh\r\n0\r\n\r\n", 400, nameof(R.InvalidChunkSize) },
        { "chunk size 0x5", Post + "0x5\r\nhello\r\n0\r\n\r\n", 400, nameof(R.InvalidChunkSize) },
        { "chunk size leading space", Post + " 5\r\nhello\r\n0\r\n\r\n", 400, nameof(R.InvalidChunkSize) },
        { "chunk size empty", Post + "\r\nhello\r\n0\r\n\r\n", 400, nameof(R.InvalidChunkSize) },
        { "chunk size overflow", Post + "10000000000000000\r\nx\r\n0\r\n\r\n", 400, nameof(R.InvalidChunkSize) },
        { "chunk size with junk", Post + "5x\r\nhello\r\n0\r\n\r\n", 400, nameof(R.InvalidChunkSize) },
        { "data longer than size", Post + "5\r\nhelloX\r\n0\r\n\r\n", 400, nameof(R.InvalidChunkTerminator) },
        { "LF only after data", Post + "5\r\nhello\n0\r\n\r\n", 400, nameof(R.InvalidChunkTerminator) },
        { "LF only after size", Post + "5\nhello\r\n0\r\n\r\n", 400, nameof(R.BareLineFeed) },
        { "CR only after data", Post + "5\r\nhello\r0\r\n\r\n", 400, nameof(R.InvalidChunkTerminator) },
        { "extension without name", Post + "5;\r\nhello\r\n0\r\n\r\n", 400, nameof(R.InvalidChunkExtension) },
        { "extension empty value", Post + "5;a=\r\nhello\r\n0\r\n\r\n", 400, nameof(R.InvalidChunkExtension) },
        { "extension unterminated quote", Post + "5;a=\"x\r\nhello\r\n0\r\n\r\n", 400, nameof(R.InvalidChunkExtension) },
        { "extension CTL value", Post + "5;a=\u0001\r\nhello\r\n0\r\n\r\n", 400, nameof(R.InvalidChunkExtension) },
        { "extension value without name", Post + "5;=v\r\nhello\r\n0\r\n\r\n", 400, nameof(R.InvalidChunkExtension) },
        { "extension bad name", Post + "5;a@b\r\nhello\r\n0\r\n\r\n", 400, nameof(R.InvalidChunkExtension) },
        { "extension line too long", Post + "5;a=" + new string('x', 5000) + "\r\nhello\r\n0\r\n\r\n", 400, nameof(R.InvalidChunkExtension) },
        { "NUL in extension", Post + "5;a\0\r\nhello\r\n0\r\n\r\n", 400, nameof(R.InvalidChunkExtension) },
        { "trailer bad name", Post + "0\r\nBad Name: x\r\n\r\n", 400, nameof(R.InvalidTrailer) },
        { "trailer space before colon", Post + "0\r\nX : x\r\n\r\n", 400, nameof(R.InvalidTrailer) },
        { "trailer obs-fold", Post + "0\r\nX: a\r\n b\r\n\r\n", 400, nameof(R.InvalidTrailer) },
        { "trailer NUL value", Post + "0\r\nX: a\0\r\n\r\n", 400, nameof(R.InvalidTrailer) },
        { "trailer without colon", Post + "0\r\nXnope\r\n\r\n", 400, nameof(R.InvalidTrailer) },
        { "trailer bare LF", Post + "0\r\nX: a\n\r\n", 400, nameof(R.BareLineFeed) },
        { "trailers too large", Post + "0\r\nX: " + new string('t', 33 * 1024) + "\r\n\r\n", 431, nameof(R.HeadersTooLarge) },
        { "chunked body over the limit", Post + "20000\r\n" + new string('z', 0x20000) + "\r\n0\r\n\r\n", 413, nameof(R.BodyTooLarge) },
    };

    public async Task InitializeAsync()
    {
        _server = await StartAsync(
            s =>
            {
                s.HandleStatic("GET", "/", "ok");
                s.Handle("POST", "/echo", async env =>
                {
                    var ms = new MemoryStream();
                    await env.Body.CopyToAsync(ms);
                    return RackResponse.Bytes(200, ms.ToArray());
                });
            },
            o => o.MaxRequestBodySize = BodyLimit);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Is_rejected_precisely_and_harms_nobody(string name, string request, int status, string reason)
    {
        int rejectionsBefore = Rejections();
        using (var c = await _server.ConnectAsync())
        {
            await c.SendAsync(Encoding.Latin1.GetBytes(request));
            var response = await c.ReadResponseAsync();
            response.Status.Should().Be(status, name);
            response.Header("Connection").Should().Be("close", name);
            response.Header("Content-Length").Should().Be("0", name);
            response.Body.Should().BeEmpty(name);
            (await c.IsClosedByServerAsync()).Should().BeTrue($"{name}: the server closes after a rejection");
        }

        Rejections().Should().Be(rejectionsBefore + 1, $"{name}: one log line per rejection");
        _server.Logs.Lines.Last(l => l.EventId.Name == "RequestRejected").Message
            .Should().EndWith($": {reason}, answered {status}", $"{name}: the reason logged");
        _server.Logs.Lines.Where(l => l.EventId.Name == "RequestRejected")
            .Should().OnlyContain(l => l.Level <= Microsoft.Extensions.Logging.LogLevel.Information);

        using var next = await _server.ConnectAsync();
        await next.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        (await next.ReadResponseAsync()).Status.Should().Be(200, $"{name}: other clients are unharmed");
    }

    public static TheoryData<string, string, string> ValidCases() => new()
    {
        { "HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", "ok" },
        { "HTTP/1.2 treated as 1.1", "GET / HTTP/1.2\r\n" + H + "\r\n", "ok" },
        { "leading empty line", "\r\nGET / HTTP/1.1\r\n" + H + "\r\n", "ok" },
        { "TE chunked with trailing space", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked \r\n\r\n5\r\nhello\r\n0\r\n\r\n", "hello" },
        { "TE case-insensitive", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: CHUNKED\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "hello" },
        { "uppercase hex size", Post + "A\r\n0123456789\r\n0\r\n\r\n", "0123456789" },
        { "extension name only", Post + "5;a\r\nhello\r\n0\r\n\r\n", "hello" },
        { "extension token value", Post + "5;a=b\r\nhello\r\n0\r\n\r\n", "hello" },
        { "extension quoted value with escape", Post + "5;a=\"q\\\"x\"\r\nhello\r\n0\r\n\r\n", "hello" },
        { "extensions with whitespace", Post + "5 ; a = b ; c\r\nhello\r\n0\r\n\r\n", "hello" },
        { "trailers", Post + "5\r\nhello\r\n0\r\nX-T: 1\r\nY-T: 2\r\n\r\n", "hello" },
        { "empty chunked body", Post + "0\r\n\r\n", string.Empty },
        { "zero-padded size", Post + "005\r\nhello\r\n0000\r\n\r\n", "hello" },
        { "CL zero", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 0\r\n\r\n", string.Empty },
        { "CL with surrounding spaces", "POST /echo HTTP/1.1\r\n" + H + "Content-Length:  5 \r\n\r\nhello", "hello" },
        { "obs-text in a value", "GET / HTTP/1.1\r\n" + H + "X: caf\u00e9\r\n\r\n", "ok" },
        { "Host with port", "GET / HTTP/1.1\r\nHost: a:8080\r\n\r\n", "ok" },
        { "Host IPv6 literal", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", "ok" },
        { "Host empty port", "GET / HTTP/1.1\r\nHost: a:\r\n\r\n", "ok" },
        { "absolute-form matching Host", "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", "ok" },
        { "underscore field name is a different field", "POST /echo HTTP/1.1\r\n" + H + "Transfer_Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello", "hello" },
        { "Expect 100-continue any case", "POST /echo HTTP/1.1\r\n" + H + "Expect: 100-Continue\r\nContent-Length: 2\r\n\r\nhi", "hi" },
        { "backslash in the query", "GET /?x=\\ HTTP/1.1\r\n" + H + "\r\n", "ok" },
        { "escape decoding to TAB", "GET /?x=%09 HTTP/1.1\r\n" + H + "\r\n", "ok" },
    };

    [Theory]
    [MemberData(nameof(ValidCases))]
    public async Task Valid_edge_cases_are_served(string name, string request, string body)
    {
        using var c = await _server.ConnectAsync();
        await c.SendAsync(Encoding.Latin1.GetBytes(request));
        var response = await c.ReadResponseAsync();
        response.Status.Should().Be(200, name);
        response.BodyText.Should().Be(body, name);
    }

    private int Rejections() => _server.Logs.Lines.Count(l => l.EventId.Name == "RequestRejected");
}

public sealed class BadRequestTestsOnSockets : BadRequestTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class BadRequestTestsOnIoUring : BadRequestTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class BadRequestTestsOnEpoll : BadRequestTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
