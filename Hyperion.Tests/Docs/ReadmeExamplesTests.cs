using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Hyperion.Tests.Docs;

/// <summary>
/// The README's C# examples compile against the current Hyperion.Core, exactly as printed; a program that uses
/// Hyperion.Grpc is compiled with the README's <c>proto</c> blocks run through Grpc.Tools, as its project would.
/// </summary>
public partial class ReadmeExamplesTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Readme_csharp_blocks_compile()
    {
        string root = RepoRoot();
        var readme = await File.ReadAllTextAsync(Path.Combine(root, "README.md"));
        var blocks = CSharpBlock().Matches(readme).Select(m => m.Groups[1].Value).ToList();
        blocks.Should().HaveCountGreaterThanOrEqualTo(2, "the README shows the API and the in-process client");
        var protos = ProtoBlock().Matches(readme).Select(m => m.Groups[1].Value).ToList();

        var dir = Directory.CreateTempSubdirectory("hyperion-readme-");
        try
        {
            // Program blocks (top-level statements) each get a project of their own, since a compilation has one
            // entry point; the other blocks are whole files, compiled with the first program.
            var programs = blocks.Where(IsProgram).ToList();
            programs.Should().HaveCountGreaterThanOrEqualTo(2, "the README shows the instance API and the default server's static shape");
            string core = Path.Combine(root, "Hyperion.Core", "Hyperion.Core.csproj");
            string http2 = Path.Combine(root, "Hyperion.Http2", "Hyperion.Http2.csproj");
            string grpc = Path.Combine(root, "Hyperion.Grpc", "Hyperion.Grpc.csproj");
            var solution = new System.Text.StringBuilder("<Solution>\n");
            for (int p = 0; p < programs.Count; p++)
            {
                var project = Directory.CreateDirectory(Path.Combine(dir.FullName, $"Program{p}"));
                await File.WriteAllTextAsync(Path.Combine(project.FullName, "Program.cs"), programs[p]);
                if (p == 0)
                {
                    for (int i = 0; i < blocks.Count; i++)
                    {
                        if (!IsProgram(blocks[i]))
                        {
                            await File.WriteAllTextAsync(Path.Combine(project.FullName, $"Block{i}.cs"), blocks[i]);
                        }
                    }
                }

                string grpcItems = "";
                if (programs[p].Contains("AddGrpcService", StringComparison.Ordinal))
                {
                    protos.Should().NotBeEmpty("a gRPC example needs the README's .proto to compile");
                    for (int i = 0; i < protos.Count; i++)
                    {
                        await File.WriteAllTextAsync(Path.Combine(project.FullName, $"Readme{i}.proto"), protos[i]);
                    }

                    // The versions samples/Grpc uses.
                    grpcItems = $"""
                        <ProjectReference Include="{grpc}" />
                        <PackageReference Include="Google.Protobuf" Version="3.36.2" />
                        <PackageReference Include="Grpc.Tools" Version="2.85.0" PrivateAssets="All" />
                        <Protobuf Include="*.proto" GrpcServices="Server" />
                    """;
                }

                await File.WriteAllTextAsync(Path.Combine(project.FullName, $"ReadmeExamples{p}.csproj"), $"""
                    <Project Sdk="Microsoft.NET.Sdk">
                      <PropertyGroup>
                        <OutputType>Exe</OutputType>
                        <TargetFramework>net10.0</TargetFramework>
                        <ImplicitUsings>enable</ImplicitUsings>
                        <Nullable>enable</Nullable>
                        <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                      </PropertyGroup>
                      <ItemGroup>
                        <PackageReference Include="xunit" Version="2.9.3" />
                        <ProjectReference Include="{core}" />
                        <ProjectReference Include="{http2}" />
                    {grpcItems}
                      </ItemGroup>
                    </Project>
                    """);
                solution.Append($"  <Project Path=\"Program{p}/ReadmeExamples{p}.csproj\" />\n");
            }

            await File.WriteAllTextAsync(Path.Combine(dir.FullName, "ReadmeExamples.slnx"), solution.Append("</Solution>\n").ToString());

            var psi = new ProcessStartInfo("dotnet", ["build", Path.Combine(dir.FullName, "ReadmeExamples.slnx"), "--artifacts-path", Path.Combine(dir.FullName, "artifacts"), "-nologo", "-v", "quiet"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await process.WaitForExitAsync(cts.Token);
            output.WriteLine(await stdout);
            output.WriteLine(await stderr);
            process.ExitCode.Should().Be(0, "the README examples must compile:\n" + await stdout);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static bool IsProgram(string block)
        => block.Contains("await server.RunAsync()", StringComparison.Ordinal) || block.Contains("await HyperionServer.RunAsync()", StringComparison.Ordinal);

    internal static string RepoRoot([CallerFilePath] string thisFile = "")
    {
        var dir = new DirectoryInfo(Path.GetDirectoryName(thisFile)!);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Hyperion.Server.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Repository root not found above " + thisFile);
    }

    [GeneratedRegex("```csharp\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex("```proto\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex ProtoBlock();
}
