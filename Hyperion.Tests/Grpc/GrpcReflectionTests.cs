using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Hyperion;
using Hyperion.Grpc;
using Hyperion.Tests.Infrastructure;
using V1 = Grpc.Reflection.V1;
using V1Alpha = Grpc.Reflection.V1Alpha;

namespace Hyperion.Tests.Grpc;

/// <summary><c>AddGrpcReflection</c>: grpc.reflection v1 and v1alpha through Grpc.Reflection's own generated clients.</summary>
public abstract class GrpcReflectionTests : TransportTests
{
    private Task<TestServer> StartReflectionAsync(bool tls = false) => StartAsync(
        s =>
        {
            // Reflection first, the rest after: it describes what the server ends up with, not what existed at the call.
            s.AddGrpcReflection();
            s.AddGrpcService(new TestGreeter());
            s.AddGrpcHealthChecks();
        },
        o => GrpcTestServer.Configure(o, tls));

    private static async Task<V1.ServerReflectionResponse> AskAsync(V1.ServerReflection.ServerReflectionClient client, V1.ServerReflectionRequest request)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var call = client.ServerReflectionInfo(cancellationToken: cts.Token);
        await call.RequestStream.WriteAsync(request);
        (await call.ResponseStream.MoveNext(cts.Token)).Should().BeTrue();
        var response = call.ResponseStream.Current;
        await call.RequestStream.CompleteAsync();
        (await call.ResponseStream.MoveNext(cts.Token)).Should().BeFalse();
        call.GetStatus().StatusCode.Should().Be(StatusCode.OK);
        return response;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task List_services_names_every_registered_service_and_reflection_itself(bool tls)
    {
        await using var ts = await StartReflectionAsync(tls);
        using var channel = GrpcTestServer.CreateChannel(ts, tls);
        var client = new V1.ServerReflection.ServerReflectionClient(channel);

        var response = await AskAsync(client, new V1.ServerReflectionRequest { ListServices = string.Empty });

        response.MessageResponseCase.Should().Be(V1.ServerReflectionResponse.MessageResponseOneofCase.ListServicesResponse);
        response.ListServicesResponse.Service.Select(s => s.Name).Should().BeEquivalentTo(
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "hyperion.tests.Greeter",
            "grpc.health.v1.Health");
    }

    /// <summary>
    /// An independent stack, as grpcurl uses reflection: python3-grpcio knows only the reflection protos, lists the
    /// services on v1 and v1alpha, resolves each service's files and imports, describes every method, and calls
    /// SayHello with request and reply types built from the reflected descriptors alone.
    /// </summary>
    [Interop.RequiresPythonGrpcTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_grpcurl_style_python_client_lists_describes_and_calls_from_reflection_alone(bool tls)
    {
        await using var ts = await StartReflectionAsync(tls);
        var dir = Directory.CreateTempSubdirectory("hyperion-grpc-reflection-");
        try
        {
            var set = new FileDescriptorSet();
            foreach (var file in new[] { V1.ReflectionReflection.Descriptor, V1Alpha.ReflectionReflection.Descriptor })
            {
                set.File.Add(FileDescriptorProto.Parser.ParseFrom(file.SerializedData));
            }

            string protoset = Path.Combine(dir.FullName, "reflection.protoset");
            await File.WriteAllBytesAsync(protoset, set.ToByteArray());
            string script = Path.Combine(Interop.InteropClients.InteropDirectory, "python", "reflection_client.py");
            string[] args = [script, protoset, ts.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "hyperion.tests.Greeter/SayHello", "name", "reflected",
                .. tls ? new[] { Hyperion.Tests.Tls.TestCertificate.CertificatePemPath } : []];
            var (code, stdout, stderr) = await ToolProcess.RunAsync(Interop.InteropClients.Python, args);
            code.Should().Be(0, stderr);

            var r = System.Text.Json.JsonDocument.Parse(stdout).RootElement;
            string[] expected = ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection", "hyperion.tests.Greeter"];
            r.GetProperty("services").EnumerateArray().Select(e => e.GetString()).Should().Equal(expected);
            r.GetProperty("services_v1alpha").EnumerateArray().Select(e => e.GetString()).Should().Equal(expected);

            var greeter = r.GetProperty("describe").GetProperty("hyperion.tests.Greeter");
            Shape(greeter, "SayHello").Should().Be("hyperion.tests.HelloRequest -> hyperion.tests.HelloReply unary");
            Shape(greeter, "CountUp").Should().Be("hyperion.tests.HelloRequest -> hyperion.tests.HelloReply server-streaming");
            Shape(greeter, "JoinNames").Should().Be("hyperion.tests.HelloRequest -> hyperion.tests.HelloReply client-streaming");
            Shape(greeter, "Chat").Should().Be("hyperion.tests.HelloRequest -> hyperion.tests.HelloReply bidi");
            var health = r.GetProperty("describe").GetProperty("grpc.health.v1.Health");
            Shape(health, "Check").Should().Be("grpc.health.v1.HealthCheckRequest -> grpc.health.v1.HealthCheckResponse unary");
            Shape(health, "Watch").Should().Be("grpc.health.v1.HealthCheckRequest -> grpc.health.v1.HealthCheckResponse server-streaming");

            r.GetProperty("unknown_symbol").GetString().Should().NotBe("found");
            r.GetProperty("invoke").GetProperty("message").GetString().Should().Be("Hello reflected");
        }
        finally
        {
            dir.Delete(recursive: true);
        }

        static string Shape(System.Text.Json.JsonElement service, string method)
        {
            var m = service.GetProperty(method);
            bool client = m.GetProperty("client_streaming").GetBoolean();
            bool server = m.GetProperty("server_streaming").GetBoolean();
            string shape = client && server ? "bidi" : client ? "client-streaming" : server ? "server-streaming" : "unary";
            return $"{m.GetProperty("input").GetString()} -> {m.GetProperty("output").GetString()} {shape}";
        }
    }

    [Theory]
    [InlineData("hyperion.tests.Greeter")]
    [InlineData("hyperion.tests.Greeter.CountUp")]
    [InlineData("hyperion.tests.HelloRequest")]
    public async Task A_symbol_s_file_descriptor_describes_the_service(string symbol)
    {
        await using var ts = await StartReflectionAsync();
        using var channel = GrpcTestServer.CreateChannel(ts, tls: false);
        var client = new V1.ServerReflection.ServerReflectionClient(channel);

        var response = await AskAsync(client, new V1.ServerReflectionRequest { FileContainingSymbol = symbol });

        response.MessageResponseCase.Should().Be(V1.ServerReflectionResponse.MessageResponseOneofCase.FileDescriptorResponse);
        var files = response.FileDescriptorResponse.FileDescriptorProto.Select(b => FileDescriptorProto.Parser.ParseFrom(b)).ToList();
        var file = files.Should().ContainSingle(f => f.Package == "hyperion.tests").Subject;
        var greeter = file.Service.Should().ContainSingle(s => s.Name == "Greeter").Subject;
        greeter.Method.Select(m => m.Name).Should().Equal("SayHello", "CountUp", "JoinNames", "Chat");
        greeter.Method.Single(m => m.Name == "CountUp").ServerStreaming.Should().BeTrue();
        file.MessageType.Select(m => m.Name).Should().Contain(["HelloRequest", "HelloReply"]);
    }

    [Fact]
    public async Task An_unknown_symbol_is_an_error_response_not_found()
    {
        await using var ts = await StartReflectionAsync();
        using var channel = GrpcTestServer.CreateChannel(ts, tls: false);
        var client = new V1.ServerReflection.ServerReflectionClient(channel);

        var response = await AskAsync(client, new V1.ServerReflectionRequest { FileContainingSymbol = "no.such.Symbol" });

        response.MessageResponseCase.Should().Be(V1.ServerReflectionResponse.MessageResponseOneofCase.ErrorResponse);
        response.ErrorResponse.ErrorCode.Should().Be((int)StatusCode.NotFound);
    }

    [Fact]
    public async Task The_v1alpha_service_answers_the_same_for_older_tools()
    {
        await using var ts = await StartReflectionAsync();
        using var channel = GrpcTestServer.CreateChannel(ts, tls: false);
        var client = new V1Alpha.ServerReflection.ServerReflectionClient(channel);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var call = client.ServerReflectionInfo(cancellationToken: cts.Token);

        // Two questions on one stream, as grpcurl asks them.
        await call.RequestStream.WriteAsync(new V1Alpha.ServerReflectionRequest { ListServices = string.Empty });
        (await call.ResponseStream.MoveNext(cts.Token)).Should().BeTrue();
        call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).Should().Contain("hyperion.tests.Greeter");
        await call.RequestStream.WriteAsync(new V1Alpha.ServerReflectionRequest { FileContainingSymbol = "grpc.health.v1.Health" });
        (await call.ResponseStream.MoveNext(cts.Token)).Should().BeTrue();
        var files = call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto.Select(b => FileDescriptorProto.Parser.ParseFrom(b));
        files.Should().Contain(f => f.Package == "grpc.health.v1" && f.Service.Any(s => s.Name == "Health"));
        await call.RequestStream.CompleteAsync();
        (await call.ResponseStream.MoveNext(cts.Token)).Should().BeFalse();
    }

    [Fact]
    public void Services_are_described_from_their_generated_descriptors_once_each()
    {
        var described = global::Hyperion.Grpc.Internal.GrpcReflectionCatalog.Describe([typeof(TestGreeter), typeof(ScriptedGreeter), typeof(string)]);
        described.Select(d => d.FullName).Should().Equal("hyperion.tests.Greeter");
        described[0].Should().BeSameAs(Protos.Greeter.Descriptor);
    }

    [Fact]
    public async Task Adding_reflection_twice_changes_nothing()
    {
        await using var ts = await StartAsync(s =>
        {
            s.AddGrpcReflection();
            s.AddGrpcReflection();
        });
        using var channel = GrpcTestServer.CreateChannel(ts, tls: false);
        var client = new V1.ServerReflection.ServerReflectionClient(channel);
        var response = await AskAsync(client, new V1.ServerReflectionRequest { ListServices = string.Empty });
        response.ListServicesResponse.Service.Should().HaveCount(2);
    }
}

public sealed class GrpcReflectionTestsOnSockets : GrpcReflectionTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}

public sealed class GrpcReflectionTestsOnIoUring : GrpcReflectionTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class GrpcReflectionTestsOnEpoll : GrpcReflectionTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}
