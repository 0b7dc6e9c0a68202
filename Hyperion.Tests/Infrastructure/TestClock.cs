using Microsoft.Extensions.Time.Testing;

namespace Hyperion.Tests.Infrastructure;

/// <summary>
/// A fake clock for a server under test (<see cref="HyperionOptions.TimeProvider"/>). Moving it runs the server's
/// heartbeat on the test's thread; what expired is then handled on the connections' own threads, so a test that
/// waits for an effect advances step by step until that effect shows. The result is fake time, so assertions on
/// it never depend on how fast the machine is.
/// </summary>
public sealed class TestClock
{
    private readonly DateTimeOffset _start;

    public TestClock()
    {
        Time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        _start = Time.GetUtcNow();
    }

    public FakeTimeProvider Time { get; }

    /// <summary>Fake time since the clock was made.</summary>
    public TimeSpan Elapsed => Time.GetUtcNow() - _start;

    public void Advance(TimeSpan by) => Time.Advance(by);

    /// <summary>
    /// Advances by <paramref name="step"/> (default 1 s) until <paramref name="done"/> holds, at most <paramref name="limit"/>
    /// of fake time (default 10 min); returns the fake time that took. Fails when the limit passes first.
    /// </summary>
    public async Task<TimeSpan> AdvanceUntilAsync(Func<bool> done, TimeSpan? step = null, TimeSpan? limit = null, string? what = null)
    {
        var begin = Elapsed;
        var max = limit ?? TimeSpan.FromMinutes(10);
        for (int steps = 0; !await SettlesAsync(done); steps++)
        {
            // Also bounded in steps (each waits up to 100 ms for the server), so a zero step cannot spin forever.
            if (Elapsed - begin >= max || steps >= 600)
            {
                throw new Xunit.Sdk.XunitException($"{what ?? "the condition"} did not hold within {max} of fake time");
            }

            Time.Advance(step ?? TimeSpan.FromSeconds(1));
        }

        return Elapsed - begin;
    }

    /// <summary>Lets the server's threads act on what the last step queued; the wait is bounded (100 ms) and never decides a result.</summary>
    public static async Task<bool> SettlesAsync(Func<bool> done)
    {
        for (int i = 0; i < 20; i++)
        {
            if (done())
            {
                return true;
            }

            await Task.Delay(5);
        }

        return done();
    }
}
