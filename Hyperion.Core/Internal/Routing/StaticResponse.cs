using System.IO.Compression;
using System.Text;
using Hyperion.Internal.Http;

namespace Hyperion.Internal.Routing;

/// <summary>
/// A static route's responses, all built once at registration: the identity representation and, when the content
/// type is compressible and the body large enough, gzip and Brotli variants; for a GET route answering 200, a strong
/// ETag per representation and the matching 304s. <see cref="Select"/> picks one per request without allocating.
/// </summary>
internal sealed class StaticResponse
{
    // Registration-time cost bound: Brotli's best quality runs at about 1 MB/s, so larger bodies use its default.
    private const int BestLevelLimit = 256 * 1024;

    private readonly StaticVariant? _gzip;
    private readonly StaticVariant? _brotli;
    private readonly ContentCoding[] _order = [];

    public StaticResponse(int status, string contentType, ReadOnlyMemory<byte> body, IEnumerable<(string Name, string Value)>? headers, string? serverHeader)
        : this(status, contentType, body, headers, serverHeader, compression: null, conditional: false)
    {
    }

    /// <summary>
    /// Builds every representation. <paramref name="compression"/>: what may be pre-compressed (null for none);
    /// <paramref name="conditional"/>: a GET route, whose 200 gets an ETag and answers <c>If-None-Match</c> with 304.
    /// </summary>
    public StaticResponse(int status, string contentType, ReadOnlyMemory<byte> body, IEnumerable<(string Name, string Value)>? headers, string? serverHeader, CompressionPolicy? compression, bool conditional)
    {
        if (!HeaderValidation.IsValidValue(contentType))
        {
            throw new ArgumentException("The content type contains characters not allowed in a header value.", nameof(contentType));
        }

        var headerList = new List<(string Name, string Value)>();
        string? etag = null;
        bool encoded = false, noTransform = false, varies = false;
        foreach (var (name, value) in headers ?? [])
        {
            if (!HeaderValidation.IsValidName(name) || !HeaderValidation.IsValidValue(value))
            {
                throw new ArgumentException($"Header '{name}' has an invalid name or value (CR, LF and controls are refused).", nameof(headers));
            }

            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) ||
                name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) ||
                name.Equals("Connection", StringComparison.OrdinalIgnoreCase) ||
                name.Equals("Date", StringComparison.OrdinalIgnoreCase))
            {
                throw new ArgumentException($"Header '{name}' is set by the server for static routes.", nameof(headers));
            }

            if (name.Equals("ETag", StringComparison.OrdinalIgnoreCase))
            {
                etag = EntityTags.IsValid(value) ? value : throw new ArgumentException($"ETag '{value}' is not an entity tag (RFC 9110 §8.8.3).", nameof(headers));
                continue;
            }

            encoded |= name.Equals("Content-Encoding", StringComparison.OrdinalIgnoreCase);
            noTransform |= name.Equals("Cache-Control", StringComparison.OrdinalIgnoreCase) && value.Contains("no-transform", StringComparison.OrdinalIgnoreCase);
            varies |= name.Equals("Vary", StringComparison.OrdinalIgnoreCase) && (value.Contains("accept-encoding", StringComparison.OrdinalIgnoreCase) || value.Contains('*', StringComparison.Ordinal));
            headerList.Add((name, value));
        }

        bool forbidsBody = StatusLines.ForbidsBody(status);
        body = forbidsBody ? ReadOnlyMemory<byte>.Empty : body;
        conditional &= status == 200;
        if (etag is null && conditional)
        {
            etag = EntityTags.FromContent(body.Span);
        }

        // RFC 9110 §8.4: never re-encode what is already encoded; §7.7: no-transform forbids it too.
        byte[]? gzip = null, brotli = null;
        if (compression is not null && status == 200 && !encoded && !noTransform &&
            body.Length >= compression.MinimumSize && body.Length > 0 && compression.IsCompressible(contentType))
        {
            var level = body.Length <= BestLevelLimit ? CompressionLevel.SmallestSize : CompressionLevel.Optimal;
            foreach (var coding in compression.Order)
            {
                var bytes = ContentEncoder.Encode(coding, level, body.Span);
                if (bytes.Length >= body.Length)
                {
                    // No smaller: serve identity to everyone.
                    continue;
                }

                if (coding == ContentCoding.Gzip)
                {
                    gzip = bytes;
                }
                else
                {
                    brotli = bytes;
                }
            }

            _order = [.. compression.Order.Where(c => (c == ContentCoding.Gzip ? gzip : brotli) is not null)];
        }

        // §12.5.5: a response chosen by Accept-Encoding says so, in every representation, for caches.
        string? vary = _order.Length > 0 && !varies ? "Accept-Encoding" : null;
        var parts = new Parts(status, contentType, headerList, vary, serverHeader, conditional);
        Identity = parts.Build(body, null, etag);
        if (gzip is not null)
        {
            _gzip = parts.Build(gzip, "gzip", etag is null ? null : EntityTags.WithSuffix(etag, "gzip"));
        }

        if (brotli is not null)
        {
            _brotli = parts.Build(brotli, "br", etag is null ? null : EntityTags.WithSuffix(etag, "br"));
        }
    }

    /// <summary>The identity representation (what middleware and hooks see for this route).</summary>
    public StaticVariant Identity { get; }

    public RackResponse Response => Identity.Response;

    /// <summary>
    /// The representation to send: by <c>Accept-Encoding</c> (RFC 9110 §12.5.3), then its 304 when <c>If-None-Match</c>
    /// lists its tag (weak comparison, §13.1.2). Only GET routes are conditional, and they see only GET and HEAD.
    /// </summary>
    public StaticVariant Select(RequestHeaders headers)
    {
        var variant = Identity;
        if (_order.Length > 0)
        {
            switch (AcceptEncoding.Select(headers, _order))
            {
                case ContentCoding.Gzip:
                    variant = _gzip!;
                    break;
                case ContentCoding.Brotli:
                    variant = _brotli!;
                    break;
            }
        }

        if (variant.NotModified is { } notModified && EntityTags.IfNoneMatchMatches(headers, variant.ETag))
        {
            return notModified;
        }

        return variant;
    }

    /// <summary>What every representation of the route shares.</summary>
    private readonly record struct Parts(int Status, string ContentType, List<(string Name, string Value)> Headers, string? Vary, string? ServerHeader, bool Conditional)
    {
        public StaticVariant Build(ReadOnlyMemory<byte> body, string? coding, string? etag)
        {
            var headers = new List<(string Name, string Value)>(Headers);
            if (coding is not null)
            {
                headers.Insert(0, ("Content-Encoding", coding));
            }

            if (etag is not null)
            {
                headers.Add(("ETag", etag));
            }

            if (Vary is not null)
            {
                headers.Add(("Vary", Vary));
            }

            var etagBytes = etag is null ? null : EntityTags.ToBytes(etag);
            var response = new RackResponse(Status, headers, body).WithContentType(ContentType);
            StaticVariant? notModified = null;
            if (Conditional && etagBytes is not null)
            {
                // §15.4.5: a 304 carries the validators, Vary and cache fields the 200 would have, and no content.
                var kept = coding is null ? headers : headers.GetRange(1, headers.Count - 1);
                notModified = new StaticVariant(Head(304, kept, -1), ReadOnlyMemory<byte>.Empty, RackResponse.Empty(304, kept), etagBytes);
            }

            return new StaticVariant(Head(Status, headers, bodyLength: StatusLines.ForbidsBody(Status) ? -1 : body.Length), body, response, etagBytes)
            {
                NotModified = notModified,
            };
        }

        private byte[] Head(int status, List<(string Name, string Value)> headers, int bodyLength)
        {
            var sb = new StringBuilder();
            sb.Append(Encoding.ASCII.GetString(StatusLines.Get(status)));
            if (bodyLength >= 0)
            {
                sb.Append("Content-Type: ").Append(ContentType).Append("\r\n");
                sb.Append("Content-Length: ").Append(bodyLength).Append("\r\n");
            }

            foreach (var (name, value) in headers)
            {
                sb.Append(name).Append(": ").Append(value).Append("\r\n");
            }

            if (ServerHeader is not null)
            {
                sb.Append("Server: ").Append(ServerHeader).Append("\r\n");
            }

            sb.Append("Date: ");
            return Encoding.Latin1.GetBytes(sb.ToString());
        }
    }
}
