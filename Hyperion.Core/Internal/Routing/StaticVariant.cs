namespace Hyperion.Internal.Routing;

/// <summary>
/// One pre-built representation of a static route: identity, gzip or Brotli, or the 304 of one of them.
/// Serving it is a few span copies with the cached Date spliced in.
/// </summary>
internal sealed class StaticVariant(byte[] prefix, ReadOnlyMemory<byte> body, RackResponse response, byte[]? etag)
{
    /// <summary>Status line and headers through "Date: ".</summary>
    public byte[] Prefix { get; } = prefix;

    public ReadOnlyMemory<byte> Body { get; } = body;

    /// <summary>The same response as a value, for lifecycle hooks and for the HTTP/2 header block.</summary>
    public RackResponse Response { get; } = response;

    /// <summary>This representation's entity tag as sent (Latin-1), or null when the route has none.</summary>
    public byte[]? ETag { get; } = etag;

    /// <summary>The 304 answering an <c>If-None-Match</c> that lists <see cref="ETag"/>; null without an ETag.</summary>
    public StaticVariant? NotModified { get; init; }

    /// <summary>Set once by HTTP/2: this response's header block (all but Date), encoded without the dynamic table.</summary>
    public byte[]? Http2HeaderBlock { get; set; }
}
