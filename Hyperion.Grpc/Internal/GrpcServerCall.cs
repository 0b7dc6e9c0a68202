using System.Buffers;
using System.Buffers.Binary;
using System.Collections;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Hyperion.Http2.Internal;
using Microsoft.Extensions.Logging;

namespace Hyperion.Grpc.Internal;

/// <summary>
/// One gRPC call: the <see cref="ServerCallContext"/> the handler sees, the request message reader over rack.input,
/// the framed message writer over the streaming response, deadline and status. Its response headers are read by the
/// HTTP/2 stream when the first message (or <c>WriteResponseHeadersAsync</c>) sends them.
/// </summary>
internal sealed class GrpcServerCall : ServerCallContext, IReadOnlyList<(string Name, string Value)>
{
    private const int InitialReadBuffer = 4096;

    private static readonly (string Name, string Value) ContentTypeHeader = ("content-type", GrpcProtocol.ContentType);
    private static readonly (string Name, string Value) AcceptEncodingHeader = ("grpc-accept-encoding", GrpcCompression.Supported);

    private readonly GrpcMethodHandler _method;
    private readonly RackEnv _env;
    private readonly GrpcServiceOptions _options;
    private ResponseBodyWriter? _writer;
    private byte[]? _readBuffer;
    private int _readStart;
    private int _readEnd;
    private bool _requestEnded;
    private byte[]? _inflated;
    private byte[] _payload = [];
    private int _payloadOffset;
    private int _payloadLength;
    private GrpcCompression? _requestEncoding;
    private GrpcCompression? _responseEncoding;
    private string? _acceptEncoding;
    private List<(string Name, string Value)>? _extraHeaders;
    private Metadata? _requestHeaders;
    private Metadata? _responseTrailers;
    private AuthContext? _authContext;
    private string? _peer;
    private Status _status = Status.DefaultSuccess;
    private WriteOptions? _writeOptions;
    private CancellationTokenSource? _deadlineCts;
    private ITimer? _deadlineTimer;
    private DateTime _deadline = DateTime.MaxValue;
    private volatile bool _deadlineExceeded;
    private TaskCompletionSource? _deadlineReached;
    private SemaphoreSlim? _writeLock;
    private bool _headersSent;
    private bool _writing;
    private bool _completed;

    public GrpcServerCall(GrpcMethodHandler method, RackEnv env, GrpcServiceOptions options)
    {
        _method = method;
        _env = env;
        _options = options;
    }

    public RackEnv Env => _env;

    /// <summary>
    /// Reads the call's headers (PROTOCOL-HTTP2.md Request-Headers). A refusal comes back as the status to end the call
    /// with before the handler runs (Trailers-Only).
    /// </summary>
    public Status? Begin(TimeProvider time, ILogger logger)
    {
        var headers = _env.Headers;
        if (headers.Get("grpc-encoding") is { } encoding && encoding != "identity")
        {
            _requestEncoding = GrpcCompression.Find(encoding);
            if (_requestEncoding is null)
            {
                // PROTOCOL-HTTP2.md / compression.md: UNIMPLEMENTED, naming what we accept in grpc-accept-encoding.
                return new Status(StatusCode.Unimplemented, $"Unsupported grpc-encoding value '{encoding}'. Supported encodings: {GrpcCompression.Supported}");
            }
        }

        _acceptEncoding = headers.Get("grpc-accept-encoding");
        if (_options.ResponseCompressionAlgorithm is { } algorithm)
        {
            ChooseResponseEncoding(algorithm);
        }

        if (headers.Get("grpc-timeout") is { } timeoutText)
        {
            if (GrpcProtocol.TryParseTimeout(timeoutText, out var timeout))
            {
                StartDeadline(time, timeout);
            }
            else
            {
                GrpcLog.InvalidTimeout(logger, _method.FullName, timeoutText);
            }
        }

        return null;
    }

    private void ChooseResponseEncoding(string algorithm)
    {
        // Only what the client says it can decode (grpc compression.md); otherwise the messages go uncompressed.
        var encoding = GrpcCompression.Find(algorithm);
        _responseEncoding = encoding is not null && encoding.IsListedIn(_acceptEncoding) ? encoding : null;
    }

    private void StartDeadline(TimeProvider time, TimeSpan timeout)
    {
        var now = time.GetUtcNow().UtcDateTime;
        _deadline = DateTime.MaxValue - now > timeout ? now + timeout : DateTime.MaxValue;
        _deadlineCts = CancellationTokenSource.CreateLinkedTokenSource(_env.RequestAborted);
        _deadlineReached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _writeLock = new SemaphoreSlim(1, 1);
        _deadlineTimer = time.CreateTimer(static state => ((GrpcServerCall)state!).OnDeadline(), this, timeout, Timeout.InfiniteTimeSpan);
    }

    private void OnDeadline()
    {
        _deadlineExceeded = true;

        // Cancellation callbacks (the handler's awaits) run on the pool, never on the timer's thread.
        try
        {
            _ = _deadlineCts!.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
        }

        _deadlineReached!.TrySetResult();
    }

    /// <summary>The streaming response body: runs the call's shape, then puts status and trailers on the response.</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask RunAsync(ResponseBodyWriter writer)
    {
        _writer = writer;
        if (_env.Lifetime is Http2Stream stream)
        {
            stream.ExemptFromBodyDataRate();
        }

        Exception? error = null;
        bool handlerDone = true;
        try
        {
            var run = _method.RunAsync(this);
            if (_deadlineReached is null || run.IsCompleted)
            {
                await run.ConfigureAwait(false);
            }
            else
            {
                handlerDone = await RunUntilDeadlineAsync(run.AsTask()).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            error = ex;
        }

        Complete(writer, error, handlerDone);
    }

    /// <summary>
    /// A call with a deadline ends at the deadline even when its handler ignores the token (as grpc-dotnet): a write in
    /// progress finishes first, later writes fail. False when the handler was left running.
    /// </summary>
    private async Task<bool> RunUntilDeadlineAsync(Task run)
    {
        var first = await Task.WhenAny(run, _deadlineReached!.Task).ConfigureAwait(false);
        if (first == run)
        {
            await run.ConfigureAwait(false);
            return true;
        }

        await _writeLock!.WaitAsync().ConfigureAwait(false);
        _completed = true;
        _writeLock.Release();

        // Whatever the abandoned handler throws later is observed here, not left to the finalizer.
        _ = run.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return run.IsCompleted;
    }

    private void Complete(ResponseBodyWriter writer, Exception? error, bool handlerDone)
    {
        _completed = true;
        _deadlineTimer?.Dispose();
        var status = _status;
        Metadata? errorTrailers = null;
        if (_deadlineExceeded)
        {
            status = new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
            GrpcLog.DeadlineExceeded(_method.Host.Logger, _method.FullName);

            // PROTOCOL-HTTP2.md: the server ends a call past its deadline and resets the stream with CANCEL, so a client
            // still sending stops (the stream sends RST_STREAM only when the request had not ended).
            if (_env.Lifetime is Http2Stream stream)
            {
                stream.StopSendingCode = Http2ErrorCode.Cancel;
            }
        }
        else if (error is RpcException rpc)
        {
            status = rpc.Status;
            errorTrailers = rpc.Trailers;
        }
        else if (error is OperationCanceledException && _env.RequestAborted.IsCancellationRequested)
        {
            status = new Status(StatusCode.Cancelled, "The call was cancelled by the client.");
        }
        else if (error is not null)
        {
            GrpcLog.HandlerFailed(_method.Host.Logger, _method.FullName, error);
            status = new Status(StatusCode.Unknown, _options.EnableDetailedErrors
                ? $"Exception was thrown by handler. {error.GetType().Name}: {error.Message}"
                : "Exception was thrown by handler.");
        }

        if (handlerDone)
        {
            // A handler left running past its deadline may still read: its buffers go to the GC instead of the pool.
            _deadlineCts?.Dispose();
            ReturnBuffers();
        }

        writer.AddTrailer("grpc-status", GrpcProtocol.StatusText(status.StatusCode));
        if (!string.IsNullOrEmpty(status.Detail))
        {
            writer.AddTrailer("grpc-message", GrpcProtocol.PercentEncode(status.Detail));
        }

        AddTrailers(writer, _responseTrailers);
        AddTrailers(writer, errorTrailers);
    }

    private static void AddTrailers(ResponseBodyWriter writer, Metadata? trailers)
    {
        if (trailers is null)
        {
            return;
        }

        for (int i = 0; i < trailers.Count; i++)
        {
            var entry = trailers[i];
            writer.AddTrailer(entry.Key, GrpcProtocol.HeaderValue(entry));
        }
    }

    private void ReturnBuffers()
    {
        if (_readBuffer is { } read)
        {
            _readBuffer = null;
            ArrayPool<byte>.Shared.Return(read);
        }

        if (_inflated is { } inflated)
        {
            _inflated = null;
            ArrayPool<byte>.Shared.Return(inflated);
        }

        _payload = [];
    }

    /// <summary>
    /// Reads the next length-prefixed message (PROTOCOL-HTTP2.md Length-Prefixed-Message), however the DATA frames
    /// split it; false at the end of the request stream.
    /// </summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> ReadMessageAsync(CancellationToken cancellationToken = default)
    {
        // The deadline and a reader's own token cancel the read. A client reset needs no token: it fails the body read
        // itself (and leaving the stream's token out saves a registration per read).
        var token = _deadlineCts?.Token ?? default;
        using var linked = cancellationToken.CanBeCanceled && cancellationToken != token ? CancellationTokenSource.CreateLinkedTokenSource(token, cancellationToken) : null;
        if (linked is not null)
        {
            token = linked.Token;
        }

        var buffer = _readBuffer ??= ArrayPool<byte>.Shared.Rent(InitialReadBuffer);
        while (true)
        {
            int available = _readEnd - _readStart;
            int needed = GrpcProtocol.HeaderSize;
            if (available >= GrpcProtocol.HeaderSize)
            {
                byte flag = buffer[_readStart];
                uint length = BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(_readStart + 1));
                if (flag > 1)
                {
                    throw new RpcException(new Status(StatusCode.Internal, "Invalid compressed flag on a request message."));
                }

                if (_options.MaxReceiveMessageSize is int max && length > (uint)max)
                {
                    throw new RpcException(new Status(StatusCode.ResourceExhausted, "Received message exceeds the maximum configured message size."));
                }

                if (length > int.MaxValue - GrpcProtocol.HeaderSize)
                {
                    throw new RpcException(new Status(StatusCode.ResourceExhausted, "Received message is too large."));
                }

                needed = GrpcProtocol.HeaderSize + (int)length;
                if (available >= needed)
                {
                    int payloadStart = _readStart + GrpcProtocol.HeaderSize;
                    _readStart += needed;
                    if (flag == 1)
                    {
                        Inflate(buffer, payloadStart, (int)length);
                    }
                    else
                    {
                        _payload = buffer;
                        _payloadOffset = payloadStart;
                        _payloadLength = (int)length;
                    }

                    return true;
                }
            }

            if (_requestEnded)
            {
                if (available == 0)
                {
                    return false;
                }

                throw new RpcException(new Status(StatusCode.Internal, "The request stream ended inside a message."));
            }

            // Room for the whole message after what is buffered: move it to the front, or into a larger array.
            if (buffer.Length < needed)
            {
                var larger = ArrayPool<byte>.Shared.Rent(needed);
                buffer.AsSpan(_readStart, available).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(buffer);
                _readBuffer = buffer = larger;
                _readStart = 0;
                _readEnd = available;
            }
            else if (buffer.Length - _readStart < needed || _readEnd == buffer.Length)
            {
                buffer.AsSpan(_readStart, available).CopyTo(buffer);
                _readStart = 0;
                _readEnd = available;
            }

            int n = await _env.Body.ReadAsync(buffer.AsMemory(_readEnd), token).ConfigureAwait(false);
            if (n == 0)
            {
                _requestEnded = true;
            }

            _readEnd += n;
        }
    }

    /// <summary>Decompresses a message into the inflate buffer, refusing it the moment it grows past the receive limit.</summary>
    private void Inflate(byte[] source, int offset, int length)
    {
        if (_requestEncoding is not { } encoding)
        {
            // PROTOCOL-HTTP2.md: a compressed message without grpc-encoding is a protocol error.
            throw new RpcException(new Status(StatusCode.Internal, "Request message is compressed but the request has no grpc-encoding."));
        }

        int max = _options.MaxReceiveMessageSize ?? int.MaxValue;
        var output = _inflated ??= ArrayPool<byte>.Shared.Rent(Math.Max(InitialReadBuffer, Math.Min(length * 4, max)));
        int total = 0;
        using var input = new MemoryStream(source, offset, length, writable: false);
        try
        {
            using var inflater = encoding.Decompress(input);
            while (true)
            {
                int cap = Math.Min(output.Length, max);
                if (total == cap)
                {
                    if (cap == max)
                    {
                        // One byte more than the limit tells whether the message goes past it, without inflating the rest.
                        Span<byte> probe = stackalloc byte[1];
                        if (inflater.Read(probe) > 0)
                        {
                            throw new RpcException(new Status(StatusCode.ResourceExhausted, "Received message exceeds the maximum configured message size."));
                        }

                        break;
                    }

                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)output.Length * 2, max));
                    output.AsSpan(0, total).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(output);
                    _inflated = output = larger;
                    continue;
                }

                int n = inflater.Read(output, total, cap - total);
                if (n == 0)
                {
                    break;
                }

                total += n;
            }
        }
        catch (InvalidDataException ex)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"The request message is not valid {encoding.Name} data.", ex));
        }

        _payload = output;
        _payloadOffset = 0;
        _payloadLength = total;
    }

    /// <summary>The message <see cref="ReadMessageAsync"/> found, through the marshaller's contextual deserializer.</summary>
    public T Deserialize<T>(Marshaller<T> marshaller)
    {
        var context = MessageDeserializationContext.Rent(_payload, _payloadOffset, _payloadLength);
        try
        {
            return marshaller.ContextualDeserializer(context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw new RpcException(new Status(StatusCode.Internal, "Failed to deserialize the request message.", ex));
        }
        finally
        {
            MessageDeserializationContext.Return(context);
        }
    }

    /// <summary>A unary or server-streaming request: exactly one message.</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<T> ReadSingleMessageAsync<T>(Marshaller<T> marshaller)
    {
        if (!await ReadMessageAsync().ConfigureAwait(false))
        {
            throw new RpcException(new Status(StatusCode.Internal, "The request has no message."));
        }

        var message = Deserialize(marshaller);
        if (await ReadMessageAsync().ConfigureAwait(false))
        {
            throw new RpcException(new Status(StatusCode.Internal, "The request has more than one message."));
        }

        return message;
    }

    /// <summary>
    /// Serializes <paramref name="message"/> behind its 5-byte prefix and writes it to the response in one write, which
    /// waits for HTTP/2 flow control (a client that stops reading stops the handler here).
    /// </summary>
    public ValueTask WriteMessageAsync<T>(T message, Marshaller<T> marshaller, WriteOptions? options, bool flush)
        => _writeLock is null ? WriteMessageCoreAsync(message, marshaller, options, flush) : WriteLockedAsync(message, marshaller, options, flush);

    /// <summary>A call with a deadline: the deadline may end the call between two writes, never inside one.</summary>
    private async ValueTask WriteLockedAsync<T>(T message, Marshaller<T> marshaller, WriteOptions? options, bool flush)
    {
        await _writeLock!.WaitAsync().ConfigureAwait(false);
        try
        {
            await WriteMessageCoreAsync(message, marshaller, options, flush).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteMessageCoreAsync<T>(T message, Marshaller<T> marshaller, WriteOptions? options, bool flush)
    {
        if (_completed || _deadlineExceeded)
        {
            throw new InvalidOperationException("The call is complete: no more response messages can be written.");
        }

        if (_writing)
        {
            throw new InvalidOperationException("A previous write has not completed; await each write before the next.");
        }

        var context = MessageSerializationContext.Rent();
        byte[] buffer;
        int length;
        try
        {
            marshaller.ContextualSerializer(message, context);
            buffer = context.Detach(out length);
        }
        finally
        {
            MessageSerializationContext.Return(context);
        }

        _writing = true;
        try
        {
            if (_options.MaxSendMessageSize is int max && length > max)
            {
                throw new RpcException(new Status(StatusCode.ResourceExhausted, "Sending message exceeds the maximum configured message size."));
            }

            var flags = (options ?? _writeOptions)?.Flags ?? default;
            ReadOnlyMemory<byte> framed;
            if (_responseEncoding is { } encoding && (flags & WriteFlags.NoCompress) == 0)
            {
                framed = Compress(encoding, buffer, length);
            }
            else
            {
                buffer[0] = 0;
                BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(1), (uint)length);
                framed = buffer.AsMemory(0, GrpcProtocol.HeaderSize + length);
            }

            _headersSent = true;
            await _writer!.WriteAsync(framed).ConfigureAwait(false);
            if (flush && (flags & WriteFlags.BufferHint) == 0)
            {
                await _writer.FlushAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _writing = false;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private ReadOnlyMemory<byte> Compress(GrpcCompression encoding, byte[] buffer, int length)
    {
        var output = new MemoryStream(length / 2 + 64);
        output.Write([1, 0, 0, 0, 0]);
        using (var compressor = encoding.Compress(output, _options.ResponseCompressionLevel ?? CompressionLevel.Fastest))
        {
            compressor.Write(buffer, GrpcProtocol.HeaderSize, length);
        }

        var framed = output.GetBuffer();
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)(output.Length - GrpcProtocol.HeaderSize));
        return framed.AsMemory(0, (int)output.Length);
    }

    protected override string MethodCore => _method.FullName;

    protected override string HostCore => _env.ServerPort is var port and > 0 ? $"{_env.ServerName}:{port}" : _env.ServerName;

    protected override string PeerCore => _peer ??= FormatPeer(_env.RemoteEndPoint);

    protected override DateTime DeadlineCore => _deadline;

    protected override Metadata RequestHeadersCore => _requestHeaders ??= BuildRequestHeaders();

    protected override CancellationToken CancellationTokenCore => _deadlineCts?.Token ?? _env.RequestAborted;

    protected override Metadata ResponseTrailersCore => _responseTrailers ??= new Metadata();

    protected override Status StatusCore
    {
        get => _status;
        set => _status = value;
    }

    protected override WriteOptions? WriteOptionsCore
    {
        get => _writeOptions;
        set => _writeOptions = value;
    }

    protected override AuthContext AuthContextCore => _authContext ??= GrpcAuthContext.Create(_env.ClientCertificate);

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options)
        => throw new NotSupportedException("Context propagation tokens belong to Grpc.Core's native client; pass the deadline and cancellation token to the outgoing call instead.");

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders)
    {
        ArgumentNullException.ThrowIfNull(responseHeaders);
        if (_headersSent || _completed)
        {
            throw new InvalidOperationException("Response headers can only be sent once per call, before the first message.");
        }

        for (int i = 0; i < responseHeaders.Count; i++)
        {
            var entry = responseHeaders[i];
            if (entry.Key == "grpc-internal-encoding-request")
            {
                // grpc-dotnet's way for a handler to pick this call's response compression; not sent.
                ChooseResponseEncoding(entry.Value);
                continue;
            }

            (_extraHeaders ??= []).Add((entry.Key, GrpcProtocol.HeaderValue(entry)));
        }

        _headersSent = true;
        return _writer!.FlushAsync().AsTask();
    }

    private Metadata BuildRequestHeaders()
    {
        var metadata = new Metadata();
        var headers = _env.Headers;
        for (int i = 0; i < headers.Count; i++)
        {
            var (name, value) = headers[i];
            if (GrpcProtocol.IsFilteredRequestHeader(name))
            {
                continue;
            }

            try
            {
                if (name.EndsWith(Metadata.BinaryHeaderSuffix, StringComparison.Ordinal))
                {
                    if (GrpcProtocol.DecodeBinary(value) is { } bytes)
                    {
                        metadata.Add(name, bytes);
                    }
                }
                else
                {
                    metadata.Add(name, value);
                }
            }
            catch (ArgumentException)
            {
                // A header name Metadata does not accept (uppercase cannot arrive over HTTP/2); left out.
            }
        }

        return metadata;
    }

    /// <summary>grpc's peer form: <c>ipv4:1.2.3.4:5</c>, <c>ipv6:[::1]:5</c> (an IPv4-mapped address as IPv4).</summary>
    internal static string FormatPeer(IPEndPoint? endpoint)
    {
        if (endpoint is null)
        {
            return "unknown";
        }

        var address = endpoint.Address.IsIPv4MappedToIPv6 ? endpoint.Address.MapToIPv4() : endpoint.Address;
        return address.AddressFamily == AddressFamily.InterNetworkV6
            ? $"ipv6:[{address}]:{endpoint.Port}"
            : $"ipv4:{address}:{endpoint.Port}";
    }

    // The response headers (PROTOCOL-HTTP2.md Response-Headers), read by the HTTP/2 stream when it sends them.
    int IReadOnlyCollection<(string Name, string Value)>.Count => 2 + (_responseEncoding is null ? 0 : 1) + (_extraHeaders?.Count ?? 0);

    (string Name, string Value) IReadOnlyList<(string Name, string Value)>.this[int index]
    {
        get
        {
            switch (index)
            {
                case 0:
                    return ContentTypeHeader;
                case 1:
                    return AcceptEncodingHeader;
            }

            if (_responseEncoding is { } encoding)
            {
                if (index == 2)
                {
                    return ("grpc-encoding", encoding.Name);
                }

                index--;
            }

            return _extraHeaders![index - 2];
        }
    }

    IEnumerator<(string Name, string Value)> IEnumerable<(string Name, string Value)>.GetEnumerator()
    {
        var self = (IReadOnlyList<(string Name, string Value)>)this;
        for (int i = 0; i < self.Count; i++)
        {
            yield return self[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => ((IEnumerable<(string Name, string Value)>)this).GetEnumerator();
}
