using System.Text;

namespace Hyperion;

/// <summary>
/// A response: status, headers and a body. A value type so that returning one from a route
/// allocates nothing; build one with the constructors or the static factories.
/// </summary>
/// <remarks>
/// The server owns message framing: it writes <c>Content-Length</c> or chunked encoding,
/// <c>Date</c>, <c>Server</c> and <c>Connection</c> itself. A <c>Content-Length</c> header given here
/// is honoured for streaming bodies (the body must then be exactly that long) and checked against
/// buffered bodies; <c>Transfer-Encoding</c> given here is ignored. A header name or value
/// containing CR, LF or NUL is refused: the client gets 500 instead.
/// </remarks>
public readonly struct RackResponse
{
    private static readonly (string Name, string Value)[] NoHeaders = [];

    private readonly IReadOnlyList<(string Name, string Value)>? _headers;
    private readonly object? _body;
    private readonly ReadOnlyMemory<byte> _bytes;

    private RackResponse(int status, IReadOnlyList<(string Name, string Value)>? headers, string? contentType, ResponseBodyKind kind, object? body, ReadOnlyMemory<byte> bytes)
    {
        if (status is < 100 or > 999)
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "A status code has three digits.");
        }

        Status = status;
        _headers = headers;
        ContentType = contentType;
        BodyKind = kind;
        _body = body;
        _bytes = bytes;
    }

    /// <summary>A response with a text body, encoded as UTF-8.</summary>
    public RackResponse(int status, IReadOnlyList<(string Name, string Value)>? headers, string body)
        : this(status, headers, null, ResponseBodyKind.Text, body ?? string.Empty, default)
    {
    }

    /// <summary>A response with a byte body.</summary>
    public RackResponse(int status, IReadOnlyList<(string Name, string Value)>? headers, ReadOnlyMemory<byte> body)
        : this(status, headers, null, ResponseBodyKind.Bytes, null, body)
    {
    }

    /// <summary>The status code.</summary>
    public int Status { get; }

    /// <summary>Response headers in the order given. Never null.</summary>
    public IReadOnlyList<(string Name, string Value)> Headers => _headers ?? NoHeaders;

    /// <summary>The <c>Content-Type</c> set through a factory, written before <see cref="Headers"/>; null when none.</summary>
    public string? ContentType { get; }

    /// <summary>What kind of body this response carries.</summary>
    public ResponseBodyKind BodyKind { get; }

    /// <summary>Trailer fields sent after the body (chunked trailers on HTTP/1.1).</summary>
    public IReadOnlyList<(string Name, string Value)>? Trailers { get; init; }

    /// <summary>The text body when <see cref="BodyKind"/> is <see cref="ResponseBodyKind.Text"/>.</summary>
    public string? TextBody => _body as string;

    /// <summary>The byte body when <see cref="BodyKind"/> is <see cref="ResponseBodyKind.Bytes"/>.</summary>
    public ReadOnlyMemory<byte> BytesBody => _bytes;

    internal object? BodyObject => _body;

    /// <summary>True when this is the default value rather than a built response.</summary>
    public bool IsDefault => Status == 0;

    /// <summary>A text response (UTF-8).</summary>
    public static RackResponse Text(int status, string body, string contentType = "text/plain; charset=utf-8")
        => new(status, null, contentType, ResponseBodyKind.Text, body ?? string.Empty, default);

    /// <summary>A byte response.</summary>
    public static RackResponse Bytes(int status, ReadOnlyMemory<byte> body, string contentType = "application/octet-stream")
        => new(status, null, contentType, ResponseBodyKind.Bytes, null, body);

    /// <summary>A response without a body (Content-Length: 0).</summary>
    public static RackResponse Empty(int status, IReadOnlyList<(string Name, string Value)>? headers = null)
        => new(status, headers, null, ResponseBodyKind.Bytes, null, default);

    /// <summary>A body made of a sequence of chunks, each written as it is enumerated (chunked encoding on HTTP/1.1).</summary>
    public static RackResponse Chunks(int status, IReadOnlyList<(string Name, string Value)>? headers, IEnumerable<ReadOnlyMemory<byte>> chunks)
        => new(status, headers, null, ResponseBodyKind.Chunks, chunks ?? throw new ArgumentNullException(nameof(chunks)), default);

    /// <summary>A body made of an asynchronous sequence of chunks; each chunk is flushed to the client as it arrives.</summary>
    public static RackResponse AsyncChunks(int status, IReadOnlyList<(string Name, string Value)>? headers, IAsyncEnumerable<ReadOnlyMemory<byte>> chunks)
        => new(status, headers, null, ResponseBodyKind.AsyncChunks, chunks ?? throw new ArgumentNullException(nameof(chunks)), default);

    /// <summary>
    /// A file body. The file is opened once, when the response is written (a missing file gives 404); its size at that
    /// moment is the Content-Length and exactly that many bytes are sent, so a file that grows later is cut there and
    /// one that shrinks below it ends the connection (HTTP/2: resets the stream) rather than sending a short body.
    /// Cleartext HTTP/1.1 sends it with sendfile(2) on every transport; TLS, HTTP/2, trailers (chunked) and the
    /// in-process client copy it through memory.
    /// </summary>
    public static RackResponse File(int status, IReadOnlyList<(string Name, string Value)>? headers, string path, string contentType = "application/octet-stream")
        => new(status, headers, contentType, ResponseBodyKind.File, path ?? throw new ArgumentNullException(nameof(path)), default);

    /// <summary>
    /// A part of a file as the body: <paramref name="length"/> bytes from <paramref name="offset"/> (e.g. the answer to a
    /// byte range, RFC 9110 §14; the caller sets the status and <c>Content-Range</c>). The file is opened when the
    /// response is written, like <see cref="File(int, IReadOnlyList{ValueTuple{string, string}}?, string, string)"/>;
    /// a part that no longer fits in the file then gives 500 instead of a short body. Sent with sendfile(2) from
    /// <paramref name="offset"/> wherever a whole file would be.
    /// </summary>
    public static RackResponse File(int status, IReadOnlyList<(string Name, string Value)>? headers, string path, string contentType, long offset, long length)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return new(status, headers, contentType, ResponseBodyKind.File, new Internal.Http.FileBody.FileSpec(path, offset, length), default);
    }

    /// <summary>A body sent from a file the caller already opened (and checked); the response owns the descriptor.</summary>
    internal static RackResponse OpenedFile(int status, IReadOnlyList<(string Name, string Value)>? headers, string contentType, Internal.Http.FileBody file)
        => new(status, headers, contentType, ResponseBodyKind.File, file, default);

    /// <summary>
    /// A streaming body: <paramref name="writer"/> is called once the head can be sent and writes the body as it goes.
    /// Without a Content-Length header it is sent chunked (HTTP/1.1) and every flush reaches the client.
    /// </summary>
    public static RackResponse Streaming(int status, IReadOnlyList<(string Name, string Value)>? headers, Func<ResponseBodyWriter, ValueTask> writer)
        => new(status, headers, null, ResponseBodyKind.Streaming, writer ?? throw new ArgumentNullException(nameof(writer)), default);

    /// <summary>Returns a copy of this response with its content type set.</summary>
    public RackResponse WithContentType(string contentType)
        => new(Status, _headers, contentType, BodyKind, _body, _bytes) { Trailers = Trailers };

    /// <summary>Returns a copy of this response with another status code (body and headers unchanged).</summary>
    public RackResponse WithStatus(int status)
        => new(status, _headers, ContentType, BodyKind, _body, _bytes) { Trailers = Trailers };

    /// <summary>Returns a copy of this response whose headers are <paramref name="headers"/> instead.</summary>
    public RackResponse WithHeaders(IReadOnlyList<(string Name, string Value)>? headers)
        => new(Status, headers, ContentType, BodyKind, _body, _bytes) { Trailers = Trailers };

    /// <summary>Returns a copy of this response with one more header field after the existing ones.</summary>
    public RackResponse WithHeader(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        var current = Headers;
        var headers = new (string Name, string Value)[current.Count + 1];
        for (int i = 0; i < current.Count; i++)
        {
            headers[i] = current[i];
        }

        headers[^1] = (name, value);
        return WithHeaders(headers);
    }

    /// <summary>Returns a copy of this response with trailer fields.</summary>
    public RackResponse WithTrailers(IReadOnlyList<(string Name, string Value)> trailers)
        => this with { Trailers = trailers };

    /// <summary>The buffered body length, or -1 for bodies whose length is not known up front.</summary>
    internal long KnownLength => BodyKind switch
    {
        ResponseBodyKind.Bytes => _bytes.Length,
        ResponseBodyKind.Text => Encoding.UTF8.GetByteCount((string)_body!),
        _ => -1,
    };

    /// <inheritdoc/>
    public override string ToString() => $"{Status} ({BodyKind})";
}
