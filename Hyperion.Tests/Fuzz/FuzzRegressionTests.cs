using Hyperion.Fuzz.Targets;

namespace Hyperion.Tests.Fuzz;

/// <summary>
/// Replays the fuzz seeds (fuzz/corpus/TARGET) and every crash or hang afl-fuzz found (fuzz/regressions/TARGET)
/// through the same target code fuzz/run.sh runs. A finding is fixed when its input gets the designed answer:
/// no exception escapes the target, nothing bug-shaped is logged, the connection ends within the target's limit.
/// </summary>
public class FuzzRegressionTests
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "Fuzz");

    public static TheoryData<string, string> Inputs()
    {
        var data = new TheoryData<string, string>();
        foreach (var kind in new[] { "corpus", "regressions" })
        {
            foreach (var target in FuzzTargets.Names)
            {
                var dir = Path.Combine(Root, kind, target);
                if (!Directory.Exists(dir))
                {
                    continue;
                }

                foreach (var file in Directory.GetFiles(dir).Order(StringComparer.Ordinal))
                {
                    data.Add(target, Path.GetRelativePath(Root, file));
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public async Task Input_gets_the_designed_answer(string target, string file)
    {
        byte[] input = await File.ReadAllBytesAsync(Path.Combine(Root, file));
        var fuzz = FuzzTargets.Create(target);

        // Off the test thread, so a hang fails this test instead of stopping the run.
        var run = Task.Run(() => fuzz.Run(input));
        var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(30)));
        finished.Should().BeSameAs(run, $"{file} must finish (afl-fuzz counts it as a hang otherwise)");
        await run;
    }

    [Fact]
    public void Every_target_has_seeds()
    {
        foreach (var target in FuzzTargets.Names)
        {
            Directory.GetFiles(Path.Combine(Root, "corpus", target)).Should().NotBeEmpty($"afl-fuzz needs seeds for {target}");
        }
    }
}
