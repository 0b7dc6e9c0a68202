using System.IO.Compression;

namespace Hyperion;

/// <summary>
/// What the <see cref="ResponseCompression"/> middleware compresses and how; also what static routes pre-compress
/// (<see cref="HyperionOptions.StaticCompression"/>). Read once, when the middleware is built or the route registered.
/// </summary>
public sealed class ResponseCompressionOptions
{
    /// <summary>
    /// The codings offered, in the server's order of preference (ties between equally weighted client choices go
    /// to the earlier one). Known: <c>br</c>, <c>gzip</c>. Default: br, then gzip.
    /// </summary>
    public IList<string> Encodings { get; } = new List<string> { "br", "gzip" };

    /// <summary>
    /// Media types worth compressing, matched against the response's Content-Type without its parameters and
    /// ignoring case: <c>type/subtype</c> exactly, <c>type/*</c>, or <c>type/*+suffix</c> (e.g. <c>application/*+json</c>).
    /// Already-compressed types (images, video, archives) are left out on purpose.
    /// </summary>
    public IList<string> MimeTypes { get; } = new List<string>
    {
        "text/*",
        "application/json",
        "application/*+json",
        "application/javascript",
        "application/xml",
        "application/*+xml",
        "application/wasm",
        "image/svg+xml",
    };

    /// <summary>
    /// Bodies whose length is known and below this many bytes are sent as they are: below about one packet,
    /// compressing saves no round trip and costs CPU. Bodies of unknown length (streams, chunks) are compressed
    /// whatever their size. Default 1024.
    /// </summary>
    public int MinimumSize { get; set; } = 1024;

    /// <summary>
    /// The middleware's compression level: <see cref="CompressionLevel.Fastest"/> by default (gzip level 1,
    /// Brotli quality 1), as compression on every response should cost little. Static routes ignore it: their
    /// variants are built once, at registration, at the best level.
    /// </summary>
    public CompressionLevel Level { get; set; } = CompressionLevel.Fastest;
}
