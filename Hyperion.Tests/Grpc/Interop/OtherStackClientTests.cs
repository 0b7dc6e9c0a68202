using System.Globalization;
using System.Text.Json;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Tls;

namespace Hyperion.Tests.Grpc.Interop;

/// <summary>
/// Other gRPC stacks as clients of samples/GrpcInterop's TestService on Hyperion: Debian's python3-grpcio and
/// @grpc/grpc-js, each over h2c and TLS. Both scripts run the same calls (unary with echoed metadata, an echoed error
/// status with whitespace and Unicode, gzip requests checked by CompressedRequest, compressed responses, server
/// streaming, bidi ping-pong, bidi ending with a status, 200 calls at once on one connection, an unregistered service)
/// and print what they saw; the assertions are here.
/// </summary>
public abstract class OtherStackClientTests : TransportTests
{
    private const string SpecialStatusMessage = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";

    [RequiresPythonGrpcTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Python_grpcio_calls_unary_server_streaming_and_bidi(bool tls)
    {
        await using var h = await InteropHarness.StartAsync(StartAsync, tls);
        var dir = Directory.CreateTempSubdirectory("hyperion-grpc-python-");
        try
        {
            string script = Path.Combine(InteropClients.InteropDirectory, "python", "interop_client.py");
            string[] args = [script, InteropClients.WriteDescriptorSet(dir.FullName), Port(h), .. tls ? new[] { TestCertificate.CertificatePemPath } : []];
            var (code, stdout, stderr) = await ToolProcess.RunAsync(InteropClients.Python, args);
            code.Should().Be(0, stderr);
            AssertClientSaw(JsonDocument.Parse(stdout).RootElement, "from python");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [RequiresGrpcJsTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Grpc_js_calls_unary_server_streaming_and_bidi(bool tls)
    {
        await using var h = await InteropHarness.StartAsync(StartAsync, tls);
        string script = Path.Combine(InteropClients.GrpcJsDirectory, "interop_client.js");
        string[] args = [script, InteropClients.ProtosDirectory, Port(h), .. tls ? new[] { TestCertificate.CertificatePemPath } : []];

        var (code, stdout, stderr) = await ToolProcess.RunAsync("node", args);

        code.Should().Be(0, stderr);
        AssertClientSaw(JsonDocument.Parse(stdout).RootElement, "from grpc-js");
    }

    private static string Port(InteropHarness h) => h.Server.Port.ToString(CultureInfo.InvariantCulture);

    private static void AssertClientSaw(JsonElement r, string initialValue)
    {
        var unary = r.GetProperty("unary");
        unary.GetProperty("code").GetInt32().Should().Be(0, r.ToString());
        unary.GetProperty("size").GetInt32().Should().Be(314159);
        unary.GetProperty("zeros").GetBoolean().Should().BeTrue();
        Strings(unary.GetProperty("initial")).Should().Equal([initialValue], "x-grpc-test-echo-initial comes back as a response header");
        Strings(unary.GetProperty("trailing")).Should().Equal(["ababab"], "x-grpc-test-echo-trailing-bin comes back as a trailer");

        var error = r.GetProperty("unary_error");
        error.GetProperty("code").GetInt32().Should().Be(2, r.ToString());
        error.GetProperty("details").GetString().Should().Be(SpecialStatusMessage);

        r.GetProperty("compressed_probe").GetProperty("code").GetInt32().Should().Be(3, "an uncompressed message that expects compression is INVALID_ARGUMENT");
        r.GetProperty("client_compressed").GetProperty("size").GetInt32().Should().Be(1000, r.ToString());
        var compressed = r.GetProperty("server_compressed");
        compressed.GetProperty("size").GetInt32().Should().Be(314159);
        compressed.GetProperty("zeros").GetBoolean().Should().BeTrue();
        Ints(compressed.GetProperty("stream_sizes")).Should().Equal(31415, 92653);

        var streaming = r.GetProperty("server_streaming");
        Ints(streaming.GetProperty("sizes")).Should().Equal(31415, 9, 2653, 58979);
        streaming.GetProperty("code").GetInt32().Should().Be(0);

        var bidi = r.GetProperty("bidi");
        Ints(bidi.GetProperty("sizes")).Should().Equal(31415, 9, 2653, 58979);
        bidi.GetProperty("code").GetInt32().Should().Be(0);

        var bidiError = r.GetProperty("bidi_error");
        bidiError.GetProperty("code").GetInt32().Should().Be(2, r.ToString());
        bidiError.GetProperty("details").GetString().Should().Be("test status message");

        var concurrent = r.GetProperty("concurrent");
        concurrent.EnumerateObject().Select(p => $"{p.Name} x{p.Value.GetInt32()}").Should().Equal(["ok x200"], "200 calls at once on one connection, over the 100-stream limit, all succeed (no REFUSED_STREAM)");

        r.GetProperty("unimplemented_service").GetProperty("code").GetInt32().Should().Be(12, "UNIMPLEMENTED");
    }

    private static List<string> Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToList();

    private static List<int> Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToList();
}

public sealed class OtherStackClientTestsOnSockets : OtherStackClientTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class OtherStackClientTestsOnIoUring : OtherStackClientTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class OtherStackClientTestsOnEpoll : OtherStackClientTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
