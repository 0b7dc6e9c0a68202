using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Hyperion.Native;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Native;

/// <summary>The ring mechanics on the real kernel, below any HTTP.</summary>
public class IoUringRingTests
{
    [RequiresIoUringFact]
    public unsafe void Nop_round_trips_its_user_data()
    {
        using var ring = IoUringRing.CreateBest(32);
        for (ulong i = 1; i <= 20; i++)
        {
            SqePrep.Nop(ring.GetSqe(), i * 7);
        }

        ring.SubmitAndWait(20).Should().Be(20);
        var seen = new List<ulong>();
        while (ring.TryGetCompletion(out var cqe))
        {
            cqe.Res.Should().Be(0);
            seen.Add(cqe.UserData);
        }

        seen.Should().BeEquivalentTo(Enumerable.Range(1, 20).Select(i => (ulong)i * 7));
    }

    [RequiresIoUringFact]
    public unsafe void Submission_queue_full_returns_null_until_submitted()
    {
        using var ring = IoUringRing.Create(4, 0);
        int got = 0;
        while (ring.GetSqe() is var sqe && sqe != null)
        {
            SqePrep.Nop(sqe, 1);
            got++;
        }

        got.Should().Be((int)ring.SqEntries);
        ring.SubmitAndWait((uint)got).Should().Be(got);
        while (ring.TryGetCompletion(out _))
        {
        }

        (ring.GetSqe() != null).Should().BeTrue();
    }

    [RequiresIoUringFact]
    public async Task A_ring_parked_in_enter_wakes_when_another_thread_signals_its_eventfd()
    {
        int efd = SocketHelpers.CreateEventFd();
        var woke = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var parked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() => ParkAndWait(efd, parked, woke));
        thread.Start();
        await parked.Task;
        await Task.Delay(200);
        woke.Task.IsCompleted.Should().BeFalse("nothing has woken the ring yet");
        SocketHelpers.Signal(efd);
        var elapsed = await woke.Task.WaitAsync(TimeSpan.FromSeconds(5));
        elapsed.Should().BeGreaterThan(TimeSpan.FromMilliseconds(150));
        thread.Join();
        SocketHelpers.Close(efd);
    }

    private static unsafe void ParkAndWait(int efd, TaskCompletionSource parked, TaskCompletionSource<TimeSpan> woke)
    {
        using var ring = IoUringRing.CreateBest(8);
        ulong value;
        SqePrep.Read(ring.GetSqe(), efd, &value, 8, 42);
        ring.SubmitAndWait(0);
        parked.SetResult();
        var sw = Stopwatch.StartNew();
        ring.SubmitAndWait(1);
        ring.TryGetCompletion(out var cqe).Should().BeTrue();
        cqe.UserData.Should().Be(42);
        cqe.Res.Should().Be(8);
        woke.SetResult(sw.Elapsed);
    }

    [RequiresIoUringFact]
    public unsafe void Multishot_recv_ends_with_ENOBUFS_when_buffers_run_dry_and_recovers_after_rearm()
    {
        using var listener = SocketHelpers.CreateReusePortListener(new IPEndPoint(IPAddress.Loopback, 0), 8);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        using var server = listener.Accept();
        int fd = (int)server.Handle;

        using var ring = IoUringRing.CreateBest(16);
        using var buffers = new ProvidedBufferRing(ring, 3, 2, 16);
        var payload = Enumerable.Range(0, 200).Select(i => (byte)i).ToArray();
        client.Send(payload);
        Thread.Sleep(50);

        var received = new List<byte>();
        bool sawNoBufs = false;
        var deadline = Stopwatch.StartNew();
        SqePrep.MultishotRecv(ring.GetSqe(), fd, 3, 9);
        while (received.Count < payload.Length && deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            ring.SubmitAndWait(1);
            var rearm = false;
            var pendingRecycle = new List<ushort>();
            while (ring.TryGetCompletion(out var cqe))
            {
                if (cqe.Res > 0)
                {
                    received.AddRange(buffers.GetBuffer(cqe.BufferId, cqe.Res).ToArray());
                    pendingRecycle.Add(cqe.BufferId);
                }
                else if (cqe.Res == -105)
                {
                    sawNoBufs = true;
                }

                rearm |= !cqe.HasMore;
            }

            // Give buffers back only after the ring ran dry, to force ENOBUFS with 2 buffers of 16 bytes.
            foreach (var bid in pendingRecycle)
            {
                buffers.Recycle(bid);
            }

            buffers.Publish();
            if (rearm)
            {
                SqePrep.MultishotRecv(ring.GetSqe(), fd, 3, 9);
            }
        }

        sawNoBufs.Should().BeTrue("200 bytes into two 16-byte buffers must exhaust the ring");
        received.Should().Equal(payload);
    }

    [RequiresIoUringFact]
    public void Creating_and_disposing_rings_leaks_no_descriptors()
    {
        // Count ring descriptors only: other tests open and close sockets in parallel in this process.
        // Rings of io_uring servers started by parallel tests come and go too, hence a small slack;
        // a leak here would leave 200.
        int before = OpenRingDescriptors();
        for (int i = 0; i < 200; i++)
        {
            using var ring = IoUringRing.CreateBest(32);
            using var buffers = new ProvidedBufferRing(ring, 0, 8, 256);
            if (i == 0)
            {
                OpenRingDescriptors().Should().BeGreaterThan(before, "an open ring is visible as an io_uring descriptor");
            }
        }

        OpenRingDescriptors().Should().BeLessThanOrEqualTo(before + 8);
    }

    private static int OpenRingDescriptors()
    {
        int count = 0;
        foreach (var fd in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget == "anon_inode:[io_uring]")
                {
                    count++;
                }
            }
            catch (IOException)
            {
                // Closed between listing and reading: not open any more.
            }
        }

        return count;
    }
}
