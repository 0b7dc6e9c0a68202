using System.IO.Compression;
using Grpc.Core.Interceptors;

namespace Hyperion.Grpc;

/// <summary>
/// Options for gRPC services: server-wide through <see cref="GrpcServerExtensions.AddGrpc"/>, and per service through
/// the configure argument of <c>AddGrpcService</c> (applied after the server-wide ones).
/// </summary>
public sealed class GrpcServiceOptions
{
    private const int DefaultMaxReceiveMessageSize = 4 * 1024 * 1024;

    /// <summary>
    /// The largest request message accepted, in bytes, checked on the wire length and again while decompressing (a
    /// message that inflates past it is refused without being inflated further). Over it the call ends with
    /// RESOURCE_EXHAUSTED. Default 4 MiB; null for no limit.
    /// </summary>
    public int? MaxReceiveMessageSize { get; set; } = DefaultMaxReceiveMessageSize;

    /// <summary>The largest response message the handler may send, in bytes, else RESOURCE_EXHAUSTED. Default null: no limit.</summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>
    /// When true, an exception other than <see cref="global::Grpc.Core.RpcException"/> thrown by a handler is reported to
    /// the client with its type and message in grpc-message; when false (default) the client sees UNKNOWN and a
    /// generic message only.
    /// </summary>
    public bool EnableDetailedErrors { get; set; }

    /// <summary>
    /// The compression applied to response messages (<c>gzip</c> or <c>deflate</c>) when the client's
    /// <c>grpc-accept-encoding</c> lists it; null (default) sends them uncompressed. A handler may choose per call by
    /// sending the response header <c>grpc-internal-encoding-request</c> (as grpc-dotnet), and per message with
    /// <see cref="global::Grpc.Core.WriteFlags.NoCompress"/>.
    /// </summary>
    public string? ResponseCompressionAlgorithm { get; set; }

    /// <summary>The level of response compression; null for <see cref="CompressionLevel.Fastest"/>.</summary>
    public CompressionLevel? ResponseCompressionLevel { get; set; }

    /// <summary>
    /// Interceptors around every call of the service, the first in the list outermost (it runs first). Server-wide
    /// interceptors run before a service's own.
    /// </summary>
    public IList<Interceptor> Interceptors { get; } = new List<Interceptor>();

    internal void CopyTo(GrpcServiceOptions target)
    {
        target.MaxReceiveMessageSize = MaxReceiveMessageSize;
        target.MaxSendMessageSize = MaxSendMessageSize;
        target.EnableDetailedErrors = EnableDetailedErrors;
        target.ResponseCompressionAlgorithm = ResponseCompressionAlgorithm;
        target.ResponseCompressionLevel = ResponseCompressionLevel;
        foreach (var interceptor in Interceptors)
        {
            target.Interceptors.Add(interceptor);
        }
    }

    internal void Validate()
    {
        if (MaxReceiveMessageSize is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxReceiveMessageSize), MaxReceiveMessageSize, "A message size limit is not negative.");
        }

        if (MaxSendMessageSize is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxSendMessageSize), MaxSendMessageSize, "A message size limit is not negative.");
        }

        if (ResponseCompressionAlgorithm is { } algorithm && Internal.GrpcCompression.Find(algorithm) is null)
        {
            throw new ArgumentException($"Unsupported response compression '{algorithm}'; supported: {Internal.GrpcCompression.Supported}.", nameof(ResponseCompressionAlgorithm));
        }

        foreach (var interceptor in Interceptors)
        {
            ArgumentNullException.ThrowIfNull(interceptor, nameof(Interceptors));
        }
    }
}
