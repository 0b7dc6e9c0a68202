using Hyperion.Internal.Http;

namespace Hyperion;

/// <summary>
/// Middleware that compresses responses with gzip or Brotli, chosen by the request's <c>Accept-Encoding</c>
/// (RFC 9110 §12.5.3, q-values honoured, ties to the server's order). Register it with
/// <c>server.Use(new ResponseCompression())</c>; it sees what every other middleware sees, so static routes
/// (pre-built, with their own variants) never reach it.
/// </summary>
/// <remarks>
/// <para>A response is compressed only when all of these hold: the request is not HEAD and has no <c>Range</c>;
/// the status allows content and is not 206; the response has no <c>Content-Encoding</c>, no <c>Content-Range</c>
/// and no <c>Cache-Control: no-transform</c> (§7.7); its content type is in <see cref="ResponseCompressionOptions.MimeTypes"/>;
/// its length, when known, is at least <see cref="ResponseCompressionOptions.MinimumSize"/>. Such a response gets
/// <c>Vary: Accept-Encoding</c> whether or not this client accepted a coding, so caches keep the variants apart.</para>
/// <para>Compressing drops <c>Content-Length</c> (the server writes the new one for buffered bodies; streaming bodies
/// go chunked on HTTP/1.1) and makes a strong <c>ETag</c> weak (§8.8.1): the encoded bytes are not the identity bytes,
/// but they mean the same, and since <c>If-None-Match</c> uses weak comparison (§13.1.2) an app that validates its own
/// tag still answers the client's revalidation with 304. (A suffixed tag would not match the app's own.)</para>
/// <para>Buffered bodies (bytes, text, and JSON, serialized here first) are compressed in one go. Every other body kind (chunks, async chunks, files,
/// streaming callbacks) is compressed as it flows, and each flush of the inner body is an encoder flush (gzip's
/// sync flush, Brotli's flush) sent to the client at once, so server-sent events and long polls keep working.</para>
/// </remarks>
public sealed class ResponseCompression : IRackMiddleware
{
    private readonly CompressionPolicy _policy;

    /// <summary>Compression with the default options: br then gzip, text and JSON-like types, at least 1 KiB.</summary>
    public ResponseCompression()
        : this(new ResponseCompressionOptions())
    {
    }

    /// <summary>Compression with <paramref name="options"/>, read once, now.</summary>
    public ResponseCompression(ResponseCompressionOptions options) => _policy = new CompressionPolicy(options);

    /// <inheritdoc/>
    public ValueTask<RackResponse> InvokeAsync(RackEnv env, RackApp next)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(next);
        var pending = next(env);
        if (pending.IsCompletedSuccessfully)
        {
            return new ValueTask<RackResponse>(Apply(env, pending.Result));
        }

        return AwaitAsync(env, pending);
    }

    private async ValueTask<RackResponse> AwaitAsync(RackEnv env, ValueTask<RackResponse> pending)
        => Apply(env, await pending.ConfigureAwait(false));

    private RackResponse Apply(RackEnv env, RackResponse response)
    {
        if (response.IsDefault || !IsEligible(env, response))
        {
            return response;
        }

        var coding = AcceptEncoding.Select(env.Headers, _policy.Order);
        var headers = Rewrite(response.Headers, coding);
        if (coding == ContentCoding.Identity)
        {
            return response.WithHeaders(headers);
        }

        if (response.BodyKind == ResponseBodyKind.Json)
        {
            // Its length is known only once serialized: serialize now (where the route runs) to apply the minimum size.
            response = response.SerializedJson();
            if (response.BytesBody.Length < _policy.MinimumSize)
            {
                return response.WithHeaders(Rewrite(response.Headers, ContentCoding.Identity));
            }
        }

        if (response.BodyKind is ResponseBodyKind.Bytes or ResponseBodyKind.Text)
        {
            var content = response.BodyKind == ResponseBodyKind.Bytes ? response.BytesBody : System.Text.Encoding.UTF8.GetBytes(response.TextBody!);
            var compressed = new RackResponse(response.Status, headers, ContentEncoder.Encode(coding, _policy.Level, content.Span));
            compressed = response.ContentType is { } type ? compressed.WithContentType(type) : compressed;
            return response.Trailers is { } trailers ? compressed.WithTrailers(trailers) : compressed;
        }

        return CompressAsItFlows(response.WithHeaders(headers), response, coding, _policy.Level);
    }

    /// <summary>
    /// Its own method so that the closure is allocated only for responses compressed this way: a lambda in
    /// <see cref="Apply"/> capturing its parameter would allocate on every pass-through too.
    /// </summary>
    private static RackResponse CompressAsItFlows(RackResponse head, RackResponse inner, ContentCoding coding, System.IO.Compression.CompressionLevel level)
        => head.WithBody(async writer =>
        {
            using var encoder = ContentEncoder.Create(coding, level);
            var compressing = new CompressingBodyWriter(encoder, writer);
            await inner.WriteBodyToAsync(compressing).ConfigureAwait(false);
            await compressing.FinishAsync().ConfigureAwait(false);
        });

    private bool IsEligible(RackEnv env, RackResponse response)
    {
        int status = response.Status;
        if (status == 206 || Internal.Http.StatusLines.ForbidsBody(status) || env.Method == "HEAD" || env.Headers.Contains("Range"))
        {
            return false;
        }

        string? contentType = response.ContentType;
        long declaredLength = -1;
        var headers = response.Headers;
        for (int i = 0; i < headers.Count; i++)
        {
            // Indexed, not foreach: an interface enumerator would allocate on every pass-through response.
            var (name, value) = headers[i];
            if (name.Equals("Content-Encoding", StringComparison.OrdinalIgnoreCase) ||
                name.Equals("Content-Range", StringComparison.OrdinalIgnoreCase) ||
                (name.Equals("Cache-Control", StringComparison.OrdinalIgnoreCase) && value.Contains("no-transform", StringComparison.OrdinalIgnoreCase)))
            {
                return false;
            }

            if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                contentType ??= value;
            }
            else if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) && long.TryParse(value, out long declared))
            {
                declaredLength = declared;
            }
        }

        if (!_policy.IsCompressible(contentType))
        {
            return false;
        }

        long length = response.BodyKind switch
        {
            ResponseBodyKind.Bytes or ResponseBodyKind.Text => response.KnownLength,
            ResponseBodyKind.File => Internal.Http.FileBody.LengthOf(response),
            _ => declaredLength,
        };

        // A file that is not there is left to the server, which answers 404 before any head is sent.
        return length != -2 && (length < 0 || length >= _policy.MinimumSize);
    }

    /// <summary>The headers of the chosen representation: Vary always; when encoding, Content-Encoding, no Content-Length, a weak ETag.</summary>
    private static (string Name, string Value)[] Rewrite(IReadOnlyList<(string Name, string Value)> headers, ContentCoding coding)
    {
        var result = new List<(string Name, string Value)>(headers.Count + 2);
        bool varies = false;
        foreach (var (name, value) in headers)
        {
            if (name.Equals("Vary", StringComparison.OrdinalIgnoreCase))
            {
                varies |= value.Contains("accept-encoding", StringComparison.OrdinalIgnoreCase) || value.Contains('*', StringComparison.Ordinal);
            }
            else if (coding != ContentCoding.Identity)
            {
                if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                if (name.Equals("ETag", StringComparison.OrdinalIgnoreCase))
                {
                    result.Add((name, EntityTags.Weaken(value)));
                    continue;
                }
            }

            result.Add((name, value));
        }

        if (coding != ContentCoding.Identity)
        {
            result.Add(("Content-Encoding", CompressionPolicy.Name(coding)));
        }

        if (!varies)
        {
            // RFC 9110 §12.5.5: the choice depends on Accept-Encoding.
            result.Add(("Vary", "Accept-Encoding"));
        }

        return [.. result];
    }
}
