using Hyperion.Native;

namespace Hyperion.Tests.Native;

/// <summary>The per-thread run delay the loop watchdog subtracts from a call's wall time (Linux schedstat).</summary>
public sealed class ThreadSchedStatTests
{
    [Fact]
    public void The_calling_thread_and_a_thread_named_by_id_read_the_same_growing_counter()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/proc/thread-self/schedstat"))
        {
            ThreadSchedStat.RunDelayNanoseconds().Should().Be(-1, "no schedstat, no number");
            return;
        }

        int tid = ThreadSchedStat.CurrentThreadId();
        tid.Should().BePositive();
        long before = ThreadSchedStat.RunDelayNanoseconds();
        before.Should().BeGreaterThanOrEqualTo(0);
        long byId = ThreadSchedStat.RunDelayNanoseconds(tid);
        byId.Should().BeGreaterThanOrEqualTo(before, "the same thread's counter, read later");
        long expected = long.Parse(File.ReadAllText($"/proc/self/task/{tid}/schedstat").Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        expected.Should().BeGreaterThanOrEqualTo(byId, "the kernel's own text, read after");
        ThreadSchedStat.RunDelayNanoseconds().Should().BeGreaterThanOrEqualTo(expected);
    }

    [Fact]
    public void A_running_thread_is_runnable_and_a_blocked_one_is_not()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/proc/thread-self/schedstat"))
        {
            return;
        }

        ThreadSchedStat.IsRunnable(ThreadSchedStat.CurrentThreadId()).Should().BeTrue("it is running this very read");
        int tid = 0;
        using var started = new ManualResetEventSlim();
        using var release = new ManualResetEvent(false);
        var thread = new Thread(() =>
        {
            tid = ThreadSchedStat.CurrentThreadId();
            started.Set();
            release.WaitOne(TimeSpan.FromSeconds(10)); // a kernel wait: the thread sleeps
        });
        thread.Start();
        try
        {
            started.Wait(TimeSpan.FromSeconds(10)).Should().BeTrue();
            bool runnable = true;
            for (int i = 0; i < 500 && runnable; i++)
            {
                runnable = ThreadSchedStat.IsRunnable(Volatile.Read(ref tid));
                if (runnable)
                {
                    Thread.Sleep(10); // it may not have reached its wait yet
                }
            }

            runnable.Should().BeFalse("a thread blocked in a wait is asleep, not waiting for a CPU");
        }
        finally
        {
            release.Set();
            thread.Join();
        }
    }

    [Fact]
    public void A_thread_that_does_not_exist_has_no_number()
    {
        ThreadSchedStat.RunDelayNanoseconds(int.MaxValue).Should().Be(-1);
    }
}
