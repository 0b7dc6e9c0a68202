namespace Hyperion.Internal.Http;

/// <summary>The content codings the server can produce (RFC 9110 §8.4.1).</summary>
internal enum ContentCoding : byte
{
    Identity = 0,
    Gzip = 1,
    Brotli = 2,
}
