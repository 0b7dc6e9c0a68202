using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Hyperion.Tests.Docs;

namespace Hyperion.Tests.Infrastructure;

/// <summary>A sample app started as its own process on an ephemeral port, stopped with SIGTERM like a real deployment.</summary>
public sealed partial class SampleProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];

    private SampleProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public int Port => BaseAddress.Port;

    /// <summary>Everything the sample printed so far (stdout and stderr).</summary>
    public IReadOnlyList<string> Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToArray();
            }
        }
    }

    /// <summary>Starts samples/<paramref name="name"/> (built with the solution, same configuration as the tests) with <c>--port 0</c>.</summary>
    public static async Task<SampleProcess> StartAsync(string name, params string[] extraArgs)
    {
        string testBin = AppContext.BaseDirectory; // .../Hyperion.Tests/bin/<Configuration>/net10.0/
        string configuration = new DirectoryInfo(testBin.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        string dll = Path.Combine(ReadmeExamplesTests.RepoRoot(), "samples", name, "bin", configuration, "net10.0", name + ".dll");
        File.Exists(dll).Should().BeTrue($"the solution build produces {dll}");

        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add("--port");
        psi.ArgumentList.Add("0");
        foreach (var a in extraArgs)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["HYPERION_IO_URING"] = null;
        var process = Process.Start(psi)!;
        var url = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var lines = new List<string>();
        void OnLine(object? _, DataReceivedEventArgs e)
        {
            if (e.Data is null)
            {
                return;
            }

            lock (lines)
            {
                lines.Add(e.Data);
            }

            var m = ListeningUrl().Match(e.Data);
            if (m.Success)
            {
                url.TrySetResult(new Uri(m.Groups[1].Value));
            }
        }

        process.OutputDataReceived += OnLine;
        process.ErrorDataReceived += OnLine;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var started = await Task.WhenAny(url.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(30)));
        if (started != url.Task)
        {
            process.Kill(entireProcessTree: true);
            string printed;
            lock (lines)
            {
                printed = string.Join('\n', lines);
            }

            throw new InvalidOperationException($"{name} did not print its URL within 30 s:\n{printed}");
        }

        var sample = new SampleProcess(process, await url.Task);
        lock (lines)
        {
            sample._output.AddRange(lines);
        }

        process.OutputDataReceived += (_, e) => sample.Append(e.Data);
        process.ErrorDataReceived += (_, e) => sample.Append(e.Data);
        return sample;
    }

    /// <summary>Sends SIGTERM and waits for the graceful exit; returns the exit code.</summary>
    public async Task<int> StopAsync()
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, 15);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await _process.WaitForExitAsync(cts.Token);
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.Add(line);
            }
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [GeneratedRegex(@"listening on (https?://[^\s/]+/)")]
    private static partial Regex ListeningUrl();
}
