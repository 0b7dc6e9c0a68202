using System.IO.Compression;

namespace Hyperion.Grpc.Internal;

/// <summary>The message encodings we speak (PROTOCOL-HTTP2.md, grpc compression.md): gzip and deflate (zlib format).</summary>
internal sealed class GrpcCompression
{
    public const string Supported = "identity,gzip,deflate";

    public static readonly GrpcCompression Gzip = new("gzip");

    public static readonly GrpcCompression Deflate = new("deflate");

    private GrpcCompression(string name) => Name = name;

    public string Name { get; }

    /// <summary>gzip or deflate (case-sensitive, as the header values are); null for anything else, identity included.</summary>
    public static GrpcCompression? Find(string? name) => name switch
    {
        "gzip" => Gzip,
        "deflate" => Deflate,
        _ => null,
    };

    public Stream Compress(Stream output, CompressionLevel level)
        => ReferenceEquals(this, Gzip) ? new GZipStream(output, level, leaveOpen: true) : new ZLibStream(output, level, leaveOpen: true);

    public Stream Decompress(Stream input)
        => ReferenceEquals(this, Gzip) ? new GZipStream(input, CompressionMode.Decompress, leaveOpen: true) : new ZLibStream(input, CompressionMode.Decompress, leaveOpen: true);

    /// <summary>True when the comma-separated <paramref name="acceptEncoding"/> (grpc-accept-encoding) lists this encoding.</summary>
    public bool IsListedIn(string? acceptEncoding)
    {
        if (acceptEncoding is null)
        {
            return false;
        }

        var rest = acceptEncoding.AsSpan();
        while (!rest.IsEmpty)
        {
            int comma = rest.IndexOf(',');
            var token = (comma < 0 ? rest : rest[..comma]).Trim();
            if (token.SequenceEqual(Name))
            {
                return true;
            }

            rest = comma < 0 ? default : rest[(comma + 1)..];
        }

        return false;
    }
}
