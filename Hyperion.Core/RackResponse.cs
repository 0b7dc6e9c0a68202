using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

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

    /// <summary>
    /// HTTP/2, streaming bodies: the HEADERS frame waits for the body's first write or flush (reading
    /// <see cref="Headers"/> then), and a body that ends having sent nothing goes out as one HEADERS frame carrying the
    /// headers and the trailers with END_STREAM (gRPC's Trailers-Only, PROTOCOL-HTTP2.md). Not kept by the With* copies.
    /// </summary>
    internal bool HeadersOnFirstWrite { get; init; }

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

    /// <summary>
    /// A JSON response: <paramref name="value"/> serialized as UTF-8 with a source-generated
    /// <paramref name="typeInfo"/> (<c>MyJsonContext.Default.Todo</c>; no reflection, so trimming- and AOT-safe),
    /// <c>Content-Type: application/json; charset=utf-8</c> and a Content-Length.
    /// </summary>
    /// <remarks>
    /// The value is serialized when the response is written, where the route runs (on the thread pool for a pool route;
    /// on a loop thread timed by the watchdog like the route itself), and a serializer that throws still gets the client
    /// a 500. On HTTP/1.1 the Utf8JsonWriter writes straight into the connection's output block after the response head,
    /// whose Content-Length is filled in once the document is complete; the part of a document that outgrows that block
    /// (about 4 KiB less the head) goes through a pooled buffer and is copied once. On HTTP/2 it is written the same way
    /// into its DATA frame behind room left for the HEADERS frame, whose block is encoded once the length is known; what
    /// the flow-control windows or the block cannot take follows in more DATA frames. Neither allocates per response
    /// beyond the one small object that carries <paramref name="value"/>. The value must not change until the response
    /// is written; <see cref="BufferBodyAsync"/> gives the bytes to middleware that needs them.
    /// </remarks>
    public static RackResponse Json<T>(int status, T value, JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        return new(status, null, "application/json; charset=utf-8", ResponseBodyKind.Json, new Internal.Http.JsonBody<T>(value, typeInfo), default);
    }

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

    /// <summary>
    /// Writes this response's body, whatever its <see cref="BodyKind"/>, into <paramref name="writer"/>: bytes and text
    /// in one write; each chunk of <see cref="ResponseBodyKind.Chunks"/> as one write; each chunk of
    /// <see cref="ResponseBodyKind.AsyncChunks"/> as one write then a flush; a file in 64 KiB writes; a streaming body
    /// by calling its callback with <paramref name="writer"/>, so each of its flushes is a flush of
    /// <paramref name="writer"/>. Trailers in <see cref="Trailers"/> are not written (they belong to the head of
    /// the response that carries the body; keep them with <see cref="WithBody"/>).
    /// </summary>
    /// <remarks>
    /// Middleware uses it to wrap or replace a body: <c>response.WithBody(w =&gt; response.WriteBodyToAsync(new MyWriter(w)))</c>.
    /// A file that does not exist throws <see cref="FileNotFoundException"/> here (the head is already sent by then),
    /// where the server alone would answer 404. A body can be written once: a streaming callback or an
    /// enumerator may not be repeatable.
    /// </remarks>
    public ValueTask WriteBodyToAsync(ResponseBodyWriter writer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writer);
        switch (BodyKind)
        {
            case ResponseBodyKind.Bytes:
                return _bytes.IsEmpty ? default : writer.WriteAsync(_bytes, cancellationToken);
            case ResponseBodyKind.Text:
                var text = (string)_body!;
                return text.Length == 0 ? default : writer.WriteAsync(text, cancellationToken);
            case ResponseBodyKind.Streaming:
                return ((Func<ResponseBodyWriter, ValueTask>)_body!)(writer);
            case ResponseBodyKind.Chunks:
                return WriteChunksAsync((IEnumerable<ReadOnlyMemory<byte>>)_body!, writer, cancellationToken);
            case ResponseBodyKind.AsyncChunks:
                return WriteAsyncChunksAsync((IAsyncEnumerable<ReadOnlyMemory<byte>>)_body!, writer, cancellationToken);
            case ResponseBodyKind.File:
                return WriteFileAsync(this, writer, cancellationToken);
            case ResponseBodyKind.Json:
                return WriteJsonAsync((Internal.Http.JsonBody)_body!, writer, cancellationToken);
            default:
                throw new InvalidOperationException("A default RackResponse has no body.");
        }
    }

    /// <summary>
    /// Returns a copy of this response (status, headers, content type, trailers) whose body is
    /// <paramref name="body"/>, a streaming callback: typically one that wraps <see cref="WriteBodyToAsync"/> of this
    /// response. Without a <c>Content-Length</c> header the new body is sent chunked (HTTP/1.1) or in DATA frames as
    /// it is flushed (HTTP/2); drop a <c>Content-Length</c> header with <see cref="WithHeaders"/> when the new body
    /// has another length.
    /// </summary>
    public RackResponse WithBody(Func<ResponseBodyWriter, ValueTask> body)
        => new(Status, _headers, ContentType, ResponseBodyKind.Streaming, body ?? throw new ArgumentNullException(nameof(body)), default) { Trailers = Trailers };

    /// <summary>
    /// Reads this response's whole body into memory and returns a copy of the response whose body is those bytes
    /// (<see cref="ResponseBodyKind.Bytes"/>, in <see cref="BytesBody"/>); trailers a streaming callback added are
    /// appended to <see cref="Trailers"/>. Bytes and text bodies are converted without copying more than once.
    /// Meant for middleware that needs the whole body (a digest for an ETag, a rewrite); a large or endless body
    /// is held in memory, so check <see cref="BodyKind"/> first. <paramref name="aborted"/> is what the callback sees
    /// as <see cref="ResponseBodyWriter.Aborted"/>.
    /// </summary>
    public async ValueTask<RackResponse> BufferBodyAsync(CancellationToken aborted = default)
    {
        if (BodyKind == ResponseBodyKind.Bytes)
        {
            return this;
        }

        if (BodyKind == ResponseBodyKind.Text)
        {
            return new RackResponse(Status, _headers, ContentType, ResponseBodyKind.Bytes, null, Encoding.UTF8.GetBytes((string)_body!)) { Trailers = Trailers };
        }

        if (BodyKind == ResponseBodyKind.Json)
        {
            return SerializedJson();
        }

        var buffer = new Internal.Http.BufferingBodyWriter(aborted);
        await WriteBodyToAsync(buffer, aborted).ConfigureAwait(false);
        var trailers = Trailers;
        if (buffer.AddedTrailers is { } added)
        {
            var all = new List<(string Name, string Value)>(trailers ?? []);
            all.AddRange(added);
            trailers = all;
        }

        return new RackResponse(Status, _headers, ContentType, ResponseBodyKind.Bytes, null, buffer.WrittenMemory) { Trailers = trailers };
    }

    /// <summary>This JSON response with its document serialized into one array (a <see cref="ResponseBodyKind.Bytes"/> body).</summary>
    internal RackResponse SerializedJson()
        => new(Status, _headers, ContentType, ResponseBodyKind.Bytes, null, ((Internal.Http.JsonBody)_body!).ToArray()) { Trailers = Trailers };

    private static async ValueTask WriteJsonAsync(Internal.Http.JsonBody json, ResponseBodyWriter writer, CancellationToken cancellationToken)
    {
        var buffer = json.SerializePooled(out int length);
        try
        {
            await writer.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private static async ValueTask WriteChunksAsync(IEnumerable<ReadOnlyMemory<byte>> chunks, ResponseBodyWriter writer, CancellationToken cancellationToken)
    {
        foreach (var chunk in chunks)
        {
            await writer.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async ValueTask WriteAsyncChunksAsync(IAsyncEnumerable<ReadOnlyMemory<byte>> chunks, ResponseBodyWriter writer, CancellationToken cancellationToken)
    {
        // As the server does: each chunk reaches the client as it arrives; enumeration stops when the client goes away.
        var token = cancellationToken.CanBeCanceled ? cancellationToken : writer.Aborted;
        await foreach (var chunk in chunks.WithCancellation(token).ConfigureAwait(false))
        {
            await writer.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async ValueTask WriteFileAsync(RackResponse response, ResponseBodyWriter writer, CancellationToken cancellationToken)
    {
        // A path (whole file or part) is opened now; a file static files opened and checked is read as it is.
        using var file = Internal.Http.FileBody.Open(response)
            ?? throw new FileNotFoundException("The response's file body does not exist.", Internal.Http.FileBody.PathOf(response));
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            var token = cancellationToken.CanBeCanceled ? cancellationToken : writer.Aborted;
            int n;
            while ((n = await file.ReadAsync(buffer, token).ConfigureAwait(false)) > 0)
            {
                await writer.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

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
