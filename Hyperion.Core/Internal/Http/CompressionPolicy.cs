using System.IO.Compression;

namespace Hyperion.Internal.Http;

/// <summary>A validated snapshot of <see cref="ResponseCompressionOptions"/>: what may be compressed, and into which codings.</summary>
internal sealed class CompressionPolicy
{
    private readonly (string Type, string Subtype)[] _types;

    public CompressionPolicy(ResponseCompressionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.MinimumSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MinimumSize, "MinimumSize cannot be negative.");
        }

        var order = new List<ContentCoding>();
        foreach (var name in options.Encodings)
        {
            var coding = name?.Trim().ToLowerInvariant() switch
            {
                "br" => ContentCoding.Brotli,
                "gzip" => ContentCoding.Gzip,
                _ => throw new ArgumentException($"Unknown content coding '{name}': known are br and gzip.", nameof(options)),
            };

            if (!order.Contains(coding))
            {
                order.Add(coding);
            }
        }

        Order = [.. order];
        _types = [.. options.MimeTypes.Select(ParsePattern)];
        MinimumSize = options.MinimumSize;
        Level = options.Level;
    }

    public ContentCoding[] Order { get; }

    public int MinimumSize { get; }

    public CompressionLevel Level { get; }

    /// <summary>True when <paramref name="contentType"/> (parameters ignored) matches one of the configured media types.</summary>
    public bool IsCompressible(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return false;
        }

        var media = contentType.AsSpan();
        int semicolon = media.IndexOf(';');
        media = (semicolon < 0 ? media : media[..semicolon]).Trim();
        int slash = media.IndexOf('/');
        if (slash <= 0)
        {
            return false;
        }

        var type = media[..slash];
        var subtype = media[(slash + 1)..];
        foreach (var (t, s) in _types)
        {
            if (!type.Equals(t, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (s == "*" || subtype.Equals(s, StringComparison.OrdinalIgnoreCase) ||
                (s.StartsWith("*+", StringComparison.Ordinal) && subtype.EndsWith(s.AsSpan(1), StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The coding name as sent in Content-Encoding.</summary>
    public static string Name(ContentCoding coding) => coding switch
    {
        ContentCoding.Gzip => "gzip",
        ContentCoding.Brotli => "br",
        _ => "identity",
    };

    private static (string, string) ParsePattern(string pattern)
    {
        var p = pattern?.Trim() ?? string.Empty;
        int slash = p.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == p.Length - 1 || p.Contains(';', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{pattern}' is not a media type pattern (type/subtype, type/* or type/*+suffix).", nameof(pattern));
        }

        return (p[..slash], p[(slash + 1)..]);
    }
}
