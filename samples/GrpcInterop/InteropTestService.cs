using Google.Protobuf;
using Grpc.Core;
using Grpc.Testing;

namespace GrpcInterop;

/// <summary>
/// grpc.testing.TestService as grpc's interop test descriptions (doc/interop-test-descriptions.md, "Server") define it:
/// EmptyCall, UnaryCall, StreamingOutputCall, StreamingInputCall, FullDuplexCall and HalfDuplexCall, with the server
/// features Echo Metadata, Echo Status, CompressedRequest, CompressedResponse and ResponseParameters.interval_us.
/// UnimplementedCall is left to the generated base, which answers UNIMPLEMENTED. It uses only Grpc.Core.Api, so any
/// server that hosts generated services can host it.
/// </summary>
public sealed class InteropTestService : TestService.TestServiceBase
{
    /// <summary>Metadata the server sends back as a response header (Echo Metadata).</summary>
    public const string EchoInitialKey = "x-grpc-test-echo-initial";

    /// <summary>Binary metadata the server sends back as a trailer (Echo Metadata).</summary>
    public const string EchoTrailingKey = "x-grpc-test-echo-trailing-bin";

    // The response header through which a Grpc.Core.Api handler asks its server to compress the call's messages with
    // an algorithm (the C-core and grpc-dotnet convention); the server does not send it on the wire.
    private const string CompressionRequestHeader = "grpc-internal-encoding-request";

    private static readonly WriteOptions Compressed = new();
    private static readonly WriteOptions Uncompressed = new(WriteFlags.NoCompress);

    private readonly Func<ServerCallContext, bool> _lastRequestWasCompressed;
    private readonly TimeProvider _time;

    /// <param name="lastRequestWasCompressed">
    /// Whether the request message the handler last read on a call arrived with the compressed flag set (PROTOCOL-HTTP2.md,
    /// Length-Prefixed-Message). Grpc.Core.Api does not carry that per message, so the host that knows says it;
    /// CompressedRequest is checked against it for every message.
    /// </param>
    /// <param name="time">The clock <c>interval_us</c> pauses run on (the host's, so tests can move a fake one).</param>
    public InteropTestService(Func<ServerCallContext, bool> lastRequestWasCompressed, TimeProvider? time = null)
    {
        _lastRequestWasCompressed = lastRequestWasCompressed;
        _time = time ?? TimeProvider.System;
    }

    public override Task<Empty> EmptyCall(Empty request, ServerCallContext context) => Task.FromResult(new Empty());

    public override async Task<SimpleResponse> UnaryCall(SimpleRequest request, ServerCallContext context)
    {
        await EchoMetadataAsync(context, compressResponses: request.ResponseCompressed?.Value == true);
        CheckCompression(request.ExpectCompressed, context);
        ThrowIfStatusRequested(request.ResponseStatus);
        CheckPayloadType(request.ResponseType);
        context.WriteOptions = request.ResponseCompressed?.Value == true ? Compressed : Uncompressed;
        return new SimpleResponse { Payload = Zeros(request.ResponseSize) };
    }

    public override async Task StreamingOutputCall(StreamingOutputCallRequest request, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context)
    {
        await EchoMetadataAsync(context, compressResponses: request.ResponseParameters.Any(p => p.Compressed?.Value == true));
        await RespondAsync(request, responseStream, context);
    }

    public override async Task<StreamingInputCallResponse> StreamingInputCall(IAsyncStreamReader<StreamingInputCallRequest> requestStream, ServerCallContext context)
    {
        await EchoMetadataAsync(context, compressResponses: false);
        int aggregated = 0;
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            var request = requestStream.Current;
            CheckCompression(request.ExpectCompressed, context);
            aggregated += request.Payload?.Body.Length ?? 0;
        }

        return new StreamingInputCallResponse { AggregatedPayloadSize = aggregated };
    }

    public override async Task FullDuplexCall(IAsyncStreamReader<StreamingOutputCallRequest> requestStream, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context)
    {
        // The headers go out with the first request's answer: only then is it known whether responses are compressed.
        bool headersSent = false;
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            var request = requestStream.Current;
            if (!headersSent)
            {
                await EchoMetadataAsync(context, compressResponses: request.ResponseParameters.Any(p => p.Compressed?.Value == true));
                headersSent = true;
            }

            await RespondAsync(request, responseStream, context);
        }

        if (!headersSent)
        {
            await EchoMetadataAsync(context, compressResponses: false);
        }
    }

    public override async Task HalfDuplexCall(IAsyncStreamReader<StreamingOutputCallRequest> requestStream, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context)
    {
        // Every request is read before the first response (the call's definition in test.proto's contract).
        var requests = new List<StreamingOutputCallRequest>();
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            requests.Add(requestStream.Current);
        }

        await EchoMetadataAsync(context, compressResponses: requests.Any(r => r.ResponseParameters.Any(p => p.Compressed?.Value == true)));
        foreach (var request in requests)
        {
            await RespondAsync(request, responseStream, context);
        }
    }

    // StreamingOutputCall and FullDuplexCall: a requested status ends the call before any response of that request
    // (Echo Status); otherwise one response per ResponseParameters, each after its interval_us pause, which accumulates
    // because each pause starts after the previous response was sent.
    private async Task RespondAsync(StreamingOutputCallRequest request, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context)
    {
        ThrowIfStatusRequested(request.ResponseStatus);
        CheckPayloadType(request.ResponseType);
        foreach (var parameters in request.ResponseParameters)
        {
            if (parameters.IntervalUs > 0)
            {
                await Task.Delay(TimeSpan.FromMicroseconds(parameters.IntervalUs), _time, context.CancellationToken);
            }

            responseStream.WriteOptions = parameters.Compressed?.Value == true ? Compressed : Uncompressed;
            await responseStream.WriteAsync(new StreamingOutputCallResponse { Payload = Zeros(parameters.Size) }, context.CancellationToken);
        }
    }

    // Echo Metadata: x-grpc-test-echo-initial comes back as a response header, x-grpc-test-echo-trailing-bin as a trailer.
    // The headers are written here, before any message, also when there is nothing to echo but compression to ask for.
    private static async Task EchoMetadataAsync(ServerCallContext context, bool compressResponses)
    {
        var headers = new Metadata();
        foreach (var entry in context.RequestHeaders)
        {
            if (entry.Key == EchoInitialKey)
            {
                headers.Add(entry);
            }
            else if (entry.Key == EchoTrailingKey)
            {
                context.ResponseTrailers.Add(entry);
            }
        }

        if (compressResponses)
        {
            headers.Add(CompressionRequestHeader, "gzip");
        }

        if (headers.Count > 0)
        {
            await context.WriteResponseHeadersAsync(headers);
        }
    }

    // CompressedRequest: a message whose expect_compressed says how it was sent must have arrived that way. The
    // descriptions name the uncompressed-but-expected case; the nullable field makes the opposite checkable as well.
    private void CheckCompression(BoolValue? expectCompressed, ServerCallContext context)
    {
        if (expectCompressed is null)
        {
            return;
        }

        bool compressed = _lastRequestWasCompressed(context);
        if (compressed != expectCompressed.Value)
        {
            throw new RpcException(new Status(
                StatusCode.InvalidArgument,
                expectCompressed.Value ? "expected a compressed request message, got an uncompressed one" : "expected an uncompressed request message, got a compressed one"));
        }
    }

    private static void ThrowIfStatusRequested(EchoStatus? status)
    {
        if (status is { Code: not 0 })
        {
            throw new RpcException(new Status((StatusCode)status.Code, status.Message));
        }
    }

    // COMPRESSABLE (zeros) is the only payload type; UnaryCall's definition says an unsupported one is INVALID_ARGUMENT.
    private static void CheckPayloadType(PayloadType type)
    {
        if (type != PayloadType.Compressable)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"unsupported response_type {(int)type}"));
        }
    }

    private static Payload Zeros(int size)
    {
        if (size < 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"negative response size {size}"));
        }

        return new Payload { Type = PayloadType.Compressable, Body = size == 0 ? ByteString.Empty : ByteString.CopyFrom(new byte[size]) };
    }
}
