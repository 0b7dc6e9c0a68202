using Google.Protobuf;
using Grpc.Core;
using Grpc.Testing;
using GrpcInterop;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Grpc.Interop;

/// <summary>
/// The 18 server-side cases of grpc's interop test descriptions (doc/interop-test-descriptions.md), each written from
/// its Procedure and asserting its "Client asserts", driven by Grpc.Net.Client against samples/GrpcInterop's
/// TestService on Hyperion. Declared once; run over h2c and TLS on every transport by the subclasses.
/// </summary>
public abstract class InteropCaseTests : TransportTests
{
    private const string SpecialStatusMessage = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";

    // Only a hang guard for waits on the server side; no assertion depends on it.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static readonly Metadata CompressRequest = new() { { "grpc-internal-encoding-request", "gzip" } };

    /// <summary>TLS (h2 by ALPN) instead of h2c by prior knowledge.</summary>
    protected abstract bool Tls { get; }

    [Fact]
    public async Task empty_unary()
    {
        await using var h = await StartHarnessAsync(recordWire: true);
        using var call = h.Client.EmptyCallAsync(new Empty());

        var response = await call.ResponseAsync;

        response.Should().NotBeNull();
        response.CalculateSize().Should().Be(0);
        call.GetStatus().StatusCode.Should().Be(StatusCode.OK);
        var wire = h.Wire.Calls.Should().ContainSingle().Subject;
        wire.CompressedFlags.Should().Equal(false);
        wire.Lengths.Should().Equal([0u], "the empty message is zero bytes on the wire");
    }

    [Fact]
    public async Task large_unary()
    {
        await using var h = await StartHarnessAsync();

        var response = await h.Client.UnaryCallAsync(new SimpleRequest { ResponseSize = 314159, Payload = Zeros(271828) });

        AssertZeros(response.Payload, 314159);
    }

    [Fact]
    public async Task client_streaming()
    {
        await using var h = await StartHarnessAsync();
        using var call = h.Client.StreamingInputCall();

        foreach (int size in new[] { 27182, 8, 1828, 45904 })
        {
            await call.RequestStream.WriteAsync(new StreamingInputCallRequest { Payload = Zeros(size) });
        }

        await call.RequestStream.CompleteAsync();

        (await call.ResponseAsync).AggregatedPayloadSize.Should().Be(74922);
        call.GetStatus().StatusCode.Should().Be(StatusCode.OK);
    }

    [Fact]
    public async Task server_streaming()
    {
        await using var h = await StartHarnessAsync();
        int[] sizes = [31415, 9, 2653, 58979];
        var request = new StreamingOutputCallRequest();
        request.ResponseParameters.AddRange(sizes.Select(s => new ResponseParameters { Size = s }));
        using var call = h.Client.StreamingOutputCall(request);

        var responses = await ReadAllAsync(call.ResponseStream);

        responses.Should().HaveCount(4);
        for (int i = 0; i < sizes.Length; i++)
        {
            AssertZeros(responses[i].Payload, sizes[i]);
        }

        call.GetStatus().StatusCode.Should().Be(StatusCode.OK);
    }

    [Fact]
    public async Task ping_pong()
    {
        await using var h = await StartHarnessAsync();
        (int Response, int Request)[] steps = [(31415, 27182), (9, 8), (2653, 1828), (58979, 45904)];
        using var call = h.Client.FullDuplexCall();

        foreach (var (responseSize, requestSize) in steps)
        {
            var request = new StreamingOutputCallRequest { Payload = Zeros(requestSize) };
            request.ResponseParameters.Add(new ResponseParameters { Size = responseSize });
            await call.RequestStream.WriteAsync(request);

            (await call.ResponseStream.MoveNext()).Should().BeTrue("each request gets its reply before the next is sent");
            AssertZeros(call.ResponseStream.Current.Payload, responseSize);
        }

        await call.RequestStream.CompleteAsync();

        (await call.ResponseStream.MoveNext()).Should().BeFalse("exactly four responses");
        call.GetStatus().StatusCode.Should().Be(StatusCode.OK);
    }

    [Fact]
    public async Task empty_stream()
    {
        await using var h = await StartHarnessAsync();
        using var call = h.Client.FullDuplexCall();

        await call.RequestStream.CompleteAsync();

        (await ReadAllAsync(call.ResponseStream)).Should().BeEmpty();
        call.GetStatus().StatusCode.Should().Be(StatusCode.OK);
    }

    [Fact]
    public async Task cancel_after_begin()
    {
        await using var h = await StartHarnessAsync();
        using var cts = new CancellationTokenSource();
        using var call = h.Client.StreamingInputCall(cancellationToken: cts.Token);
        // "After metadata has been sent but before payloads": the handler has the call, no message was written.
        await h.Observer.Started(InteropHarness.Method("StreamingInputCall")).WaitAsync(Bound);

        await cts.CancelAsync();

        var error = await FluentActions.Awaiting(() => call.ResponseAsync).Should().ThrowAsync<RpcException>();
        error.Which.StatusCode.Should().Be(StatusCode.Cancelled, error.Which.Status.DebugException?.ToString());
        var handler = await h.Observer.Finished(InteropHarness.Method("StreamingInputCall")).WaitAsync(Bound);
        handler.TokenCancelled.Should().BeTrue("the client's RST_STREAM reaches the handler's cancellation token");
    }

    [Fact]
    public async Task cancel_after_first_response()
    {
        await using var h = await StartHarnessAsync();
        using var cts = new CancellationTokenSource();
        using var call = h.Client.FullDuplexCall(cancellationToken: cts.Token);
        var request = new StreamingOutputCallRequest { Payload = Zeros(27182) };
        request.ResponseParameters.Add(new ResponseParameters { Size = 31415 });
        await call.RequestStream.WriteAsync(request);
        (await call.ResponseStream.MoveNext()).Should().BeTrue();
        AssertZeros(call.ResponseStream.Current.Payload, 31415);

        await cts.CancelAsync();

        var error = await FluentActions.Awaiting(() => call.ResponseStream.MoveNext()).Should().ThrowAsync<RpcException>();
        error.Which.StatusCode.Should().Be(StatusCode.Cancelled, error.Which.Status.DebugException?.ToString());
        var handler = await h.Observer.Finished(InteropHarness.Method("FullDuplexCall")).WaitAsync(Bound);
        handler.TokenCancelled.Should().BeTrue("the client's RST_STREAM reaches the handler waiting for the next request");
    }

    [Fact]
    public async Task timeout_on_sleeping_server()
    {
        // The description's 1 ms deadline: the assertion is on the status, never on how long it took. (The server's own
        // deadline, on its clock, is InteropServerFeatureTests' case.)
        await using var h = await StartHarnessAsync();
        using var call = h.Client.FullDuplexCall(deadline: DateTime.UtcNow.AddMilliseconds(1));
        try
        {
            await call.RequestStream.WriteAsync(new StreamingOutputCallRequest { Payload = Zeros(27182) });
        }
        catch (Exception e) when (e is RpcException or IOException or InvalidOperationException)
        {
            // The deadline may pass before or during the write (the server resets the stream with CANCEL when its copy
            // of the deadline fires first); the call's status is what the case asserts.
        }

        var error = await FluentActions.Awaiting(() => call.ResponseStream.MoveNext()).Should().ThrowAsync<RpcException>();
        error.Which.StatusCode.Should().Be(StatusCode.DeadlineExceeded);
    }

    [Fact]
    public async Task custom_metadata()
    {
        await using var h = await StartHarnessAsync();
        byte[] trailingValue = [0xab, 0xab, 0xab];
        var metadata = new Metadata
        {
            { InteropTestService.EchoInitialKey, "test_initial_metadata_value" },
            { InteropTestService.EchoTrailingKey, trailingValue },
        };

        using (var unary = h.Client.UnaryCallAsync(new SimpleRequest { ResponseSize = 314159, Payload = Zeros(271828) }, metadata))
        {
            AssertZeros((await unary.ResponseAsync).Payload, 314159);
            (await unary.ResponseHeadersAsync).GetValue(InteropTestService.EchoInitialKey).Should().Be("test_initial_metadata_value");
            unary.GetTrailers().GetValueBytes(InteropTestService.EchoTrailingKey).Should().Equal(trailingValue);
        }

        using var duplex = h.Client.FullDuplexCall(metadata);
        var request = new StreamingOutputCallRequest { Payload = Zeros(271828) };
        request.ResponseParameters.Add(new ResponseParameters { Size = 314159 });
        await duplex.RequestStream.WriteAsync(request);
        await duplex.RequestStream.CompleteAsync();

        var responses = await ReadAllAsync(duplex.ResponseStream);

        responses.Should().ContainSingle();
        AssertZeros(responses[0].Payload, 314159);
        (await duplex.ResponseHeadersAsync).GetValue(InteropTestService.EchoInitialKey).Should().Be("test_initial_metadata_value");
        duplex.GetTrailers().GetValueBytes(InteropTestService.EchoTrailingKey).Should().Equal(trailingValue);
        duplex.GetStatus().StatusCode.Should().Be(StatusCode.OK);
    }

    [Fact]
    public async Task status_code_and_message()
    {
        await using var h = await StartHarnessAsync();
        var echo = new EchoStatus { Code = 2, Message = "test status message" };

        var unary = await FluentActions.Awaiting(async () => await h.Client.UnaryCallAsync(new SimpleRequest { ResponseStatus = echo })).Should().ThrowAsync<RpcException>();
        unary.Which.StatusCode.Should().Be(StatusCode.Unknown);
        unary.Which.Status.Detail.Should().Be("test status message");

        using var duplex = h.Client.FullDuplexCall();
        await duplex.RequestStream.WriteAsync(new StreamingOutputCallRequest { ResponseStatus = echo });
        await CompleteIgnoringEndedCallAsync(duplex.RequestStream);

        var streamed = await FluentActions.Awaiting(() => duplex.ResponseStream.MoveNext()).Should().ThrowAsync<RpcException>();
        streamed.Which.StatusCode.Should().Be(StatusCode.Unknown);
        streamed.Which.Status.Detail.Should().Be("test status message");
    }

    [Fact]
    public async Task special_status_message()
    {
        await using var h = await StartHarnessAsync();

        var error = await FluentActions.Awaiting(async () => await h.Client.UnaryCallAsync(new SimpleRequest { ResponseStatus = new EchoStatus { Code = 2, Message = SpecialStatusMessage } }))
            .Should().ThrowAsync<RpcException>();

        error.Which.StatusCode.Should().Be(StatusCode.Unknown);
        error.Which.Status.Detail.Should().Be(SpecialStatusMessage, "every whitespace character and both Unicode planes survive grpc-message's percent-encoding");
    }

    [Fact]
    public async Task unimplemented_service()
    {
        await using var h = await StartHarnessAsync();
        var client = new UnimplementedService.UnimplementedServiceClient(h.Channel);

        var error = await FluentActions.Awaiting(async () => await client.UnimplementedCallAsync(new Empty())).Should().ThrowAsync<RpcException>();

        error.Which.StatusCode.Should().Be(StatusCode.Unimplemented);
    }

    [Fact]
    public async Task unimplemented_method()
    {
        await using var h = await StartHarnessAsync();

        var error = await FluentActions.Awaiting(async () => await h.Client.UnimplementedCallAsync(new Empty())).Should().ThrowAsync<RpcException>();

        error.Which.StatusCode.Should().Be(StatusCode.Unimplemented);
    }

    [Fact]
    public async Task client_compressed_unary()
    {
        await using var h = await StartHarnessAsync();
        SimpleRequest Request(bool expectCompressed) => new()
        {
            ExpectCompressed = new BoolValue { Value = expectCompressed },
            ResponseSize = 314159,
            Payload = Zeros(271828),
        };

        // The feature probe: a message that says it is compressed but is not.
        var probe = await FluentActions.Awaiting(async () => await h.Client.UnaryCallAsync(Request(expectCompressed: true))).Should().ThrowAsync<RpcException>();
        probe.Which.StatusCode.Should().Be(StatusCode.InvalidArgument);

        AssertZeros((await h.Client.UnaryCallAsync(Request(expectCompressed: true), CompressRequest)).Payload, 314159);
        AssertZeros((await h.Client.UnaryCallAsync(Request(expectCompressed: false))).Payload, 314159);
    }

    [Fact]
    public async Task client_compressed_streaming()
    {
        await using var h = await StartHarnessAsync();

        using (var probe = h.Client.StreamingInputCall())
        {
            await probe.RequestStream.WriteAsync(new StreamingInputCallRequest { ExpectCompressed = new BoolValue { Value = true }, Payload = Zeros(27182) });
            await CompleteIgnoringEndedCallAsync(probe.RequestStream);
            var error = await FluentActions.Awaiting(() => probe.ResponseAsync).Should().ThrowAsync<RpcException>();
            error.Which.StatusCode.Should().Be(StatusCode.InvalidArgument);
        }

        using var call = h.Client.StreamingInputCall(CompressRequest);
        await call.RequestStream.WriteAsync(new StreamingInputCallRequest { ExpectCompressed = new BoolValue { Value = true }, Payload = Zeros(27182) });
        call.RequestStream.WriteOptions = new WriteOptions(WriteFlags.NoCompress);
        await call.RequestStream.WriteAsync(new StreamingInputCallRequest { ExpectCompressed = new BoolValue { Value = false }, Payload = Zeros(45904) });
        await call.RequestStream.CompleteAsync();

        (await call.ResponseAsync).AggregatedPayloadSize.Should().Be(73086);
    }

    [Fact]
    public async Task server_compressed_unary()
    {
        await using var h = await StartHarnessAsync(recordWire: true);

        foreach (bool compressed in new[] { true, false })
        {
            var response = await h.Client.UnaryCallAsync(new SimpleRequest
            {
                ResponseCompressed = new BoolValue { Value = compressed },
                ResponseSize = 314159,
                Payload = Zeros(271828),
            });
            AssertZeros(response.Payload, 314159);
        }

        h.Wire.Calls.Select(c => c.CompressedFlags).Should().BeEquivalentTo(new[] { new[] { true }, new[] { false } }, o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task server_compressed_streaming()
    {
        await using var h = await StartHarnessAsync(recordWire: true);
        var request = new StreamingOutputCallRequest();
        request.ResponseParameters.Add(new ResponseParameters { Compressed = new BoolValue { Value = true }, Size = 31415 });
        request.ResponseParameters.Add(new ResponseParameters { Compressed = new BoolValue { Value = false }, Size = 92653 });
        using var call = h.Client.StreamingOutputCall(request);

        var responses = await ReadAllAsync(call.ResponseStream);

        responses.Should().HaveCount(2);
        AssertZeros(responses[0].Payload, 31415);
        AssertZeros(responses[1].Payload, 92653);
        call.GetStatus().StatusCode.Should().Be(StatusCode.OK);
        var wire = h.Wire.Calls.Should().ContainSingle().Subject;
        wire.CompressedFlags.Should().Equal(true, false);
        wire.Lengths[0].Should().BeLessThan(31415, "31415 zero bytes compress");
        wire.Lengths[1].Should().BeGreaterThan(92653, "the uncompressed message is the payload and its field headers");
    }

    private Task<InteropHarness> StartHarnessAsync(bool recordWire = false) => InteropHarness.StartAsync(StartAsync, Tls, recordWire: recordWire);

    private static Payload Zeros(int size) => new() { Body = ByteString.CopyFrom(new byte[size]) };

    private static void AssertZeros(Payload payload, int size)
    {
        payload.Type.Should().Be(PayloadType.Compressable);
        payload.Body.Length.Should().Be(size);
        payload.Body.Span.IndexOfAnyExcept((byte)0).Should().Be(-1, "the payload is zeros");
    }

    private static async Task<List<T>> ReadAllAsync<T>(IAsyncStreamReader<T> stream)
        where T : class
    {
        var all = new List<T>();
        while (await stream.MoveNext())
        {
            all.Add(stream.Current);
        }

        return all;
    }

    // A server that ends the call early (Echo Status, a refused probe) may have done so before the half-close is sent.
    private static async Task CompleteIgnoringEndedCallAsync<T>(IClientStreamWriter<T> writer)
    {
        try
        {
            await writer.CompleteAsync();
        }
        catch (RpcException)
        {
        }
        catch (InvalidOperationException)
        {
        }
    }
}

public sealed class InteropCaseTestsH2cOnSockets : InteropCaseTests
{
    protected override TransportKind Transport => TransportKind.Sockets;

    protected override bool Tls => false;
}

public sealed class InteropCaseTestsH2cOnIoUring : InteropCaseTests
{
    protected override TransportKind Transport => IoUringOrFallback;

    protected override bool Tls => false;
}

public sealed class InteropCaseTestsH2cOnEpoll : InteropCaseTests
{
    protected override TransportKind Transport => TransportKind.Epoll;

    protected override bool Tls => false;
}

public sealed class InteropCaseTestsTlsOnSockets : InteropCaseTests
{
    protected override TransportKind Transport => TransportKind.Sockets;

    protected override bool Tls => true;
}

public sealed class InteropCaseTestsTlsOnIoUring : InteropCaseTests
{
    protected override TransportKind Transport => IoUringOrFallback;

    protected override bool Tls => true;
}

public sealed class InteropCaseTestsTlsOnEpoll : InteropCaseTests
{
    protected override TransportKind Transport => TransportKind.Epoll;

    protected override bool Tls => true;
}
