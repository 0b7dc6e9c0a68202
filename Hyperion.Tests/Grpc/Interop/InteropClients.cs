using System.Diagnostics;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Testing;
using Hyperion.Tests.Docs;

namespace Hyperion.Tests.Grpc.Interop;

/// <summary>
/// The other stacks' clients the interop tests run, and whether each is installed here: Debian's python3-grpcio
/// (imported by /usr/bin/python3 only) and @grpc/grpc-js from npm (installed by <c>npm ci</c> in the grpc-js folder
/// beside this file, which .ci/run does).
/// </summary>
public static class InteropClients
{
    public const string Python = "/usr/bin/python3";

    private static readonly Lazy<string?> PythonProbe = new(() =>
        !File.Exists(Python) ? $"'{Python}' is not installed"
        : Succeeds(Python, "-c", "import grpc, google.protobuf") ? null
        : $"'{Python}' cannot import grpc and google.protobuf (.ci/run installs python3-grpcio and python3-protobuf with apt-get)");

    private static readonly Lazy<string?> NodeProbe = new(() =>
        !Native.ToolLocator.Exists("node") ? "'node' is not installed (.ci/run installs nodejs and npm with apt-get)"
        : !File.Exists(Path.Combine(GrpcJsDirectory, "node_modules", "@grpc", "grpc-js", "package.json")) || !File.Exists(Path.Combine(GrpcJsDirectory, "node_modules", "@grpc", "proto-loader", "package.json"))
            ? "@grpc/grpc-js is not installed: run 'npm ci' in Hyperion.Tests/Grpc/Interop/grpc-js (.ci/run does)"
        : null);

    /// <summary>Why the python3-grpcio tests cannot run here, or null when they can.</summary>
    public static string? PythonSkipReason => PythonProbe.Value;

    /// <summary>Why the grpc-js tests cannot run here, or null when they can.</summary>
    public static string? GrpcJsSkipReason => NodeProbe.Value;

    public static string InteropDirectory => Path.Combine(ReadmeExamplesTests.RepoRoot(), "Hyperion.Tests", "Grpc", "Interop");

    public static string GrpcJsDirectory => Path.Combine(InteropDirectory, "grpc-js");

    public static string ProtosDirectory => Path.Combine(ReadmeExamplesTests.RepoRoot(), "samples", "GrpcInterop", "Protos");

    /// <summary>
    /// Writes the interop protos' descriptors, as compiled into samples/GrpcInterop, as a FileDescriptorSet with each
    /// file after its dependencies, so a client can build the messages without code generation.
    /// </summary>
    public static string WriteDescriptorSet(string directory)
    {
        var set = new FileDescriptorSet();
        foreach (var file in new[] { EmptyReflection.Descriptor, MessagesReflection.Descriptor, TestReflection.Descriptor })
        {
            set.File.Add(FileDescriptorProto.Parser.ParseFrom(file.SerializedData));
        }

        string path = Path.Combine(directory, "interop.protoset");
        File.WriteAllBytes(path, set.ToByteArray());
        return path;
    }

    private static bool Succeeds(string file, params string[] args)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(file, args) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true })!;
            if (!p.WaitForExit(15_000))
            {
                p.Kill();
                return false;
            }

            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
