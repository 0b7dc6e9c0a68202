using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Hyperion.Native;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Performance;
using Xunit.Abstractions;

namespace Hyperion.Tests.Native;

/// <summary>
/// <see cref="EpollSet"/> on real descriptors (eventfds and a loopback TCP pair), and its layout and constants
/// against the C library's own headers.
/// </summary>
public class EpollTests(ITestOutputHelper output)
{
    private static readonly (string CName, uint Ours)[] Constants =
    [
        ("EPOLLIN", EpollSet.In), ("EPOLLOUT", EpollSet.Out), ("EPOLLERR", EpollSet.Error), ("EPOLLHUP", EpollSet.HangUp),
        ("EPOLLRDHUP", EpollSet.PeerHangUp), ("EPOLLET", EpollSet.EdgeTriggered),
        ("EPOLL_CLOEXEC", Libc.EpollCloexec), ("MSG_DONTWAIT", Libc.MsgDontwait), ("MSG_NOSIGNAL", Libc.MsgNosignal),
        ("SOCK_NONBLOCK", Libc.SockNonblock), ("SOCK_CLOEXEC", Libc.SockCloexec),
        ("EFD_NONBLOCK", Libc.EfdNonblock), ("EFD_CLOEXEC", Libc.EfdCloexec), ("SHUT_WR", Libc.ShutWr),
    ];

    [Fact]
    public void Tokens_and_flags_of_several_ready_descriptors_come_back()
    {
        // Full 64-bit tokens with high bits set, and two events in one wait: a wrong stride or data offset
        // would mangle the second token.
        const ulong first = 0xFEDC_BA98_7654_3210;
        const ulong second = 0x0123_4567_89AB_CDEF;
        using var epoll = new EpollSet(8);
        int a = SocketHelpers.CreateEventFd();
        int b = SocketHelpers.CreateEventFd();
        try
        {
            epoll.Add(a, EpollSet.In, first);
            epoll.Add(b, EpollSet.In, second);
            epoll.Wait(0).Should().Be(0, "neither eventfd has been signalled");

            SocketHelpers.Signal(a);
            SocketHelpers.Signal(b);
            var ready = Drain(epoll, expected: 2);
            ready.Keys.Should().BeEquivalentTo([first, second]);
            ready.Values.Should().OnlyContain(e => (e & EpollSet.In) != 0);
        }
        finally
        {
            SocketHelpers.Close(a);
            SocketHelpers.Close(b);
        }
    }

    [Fact]
    public void A_socket_watched_edge_triggered_reports_writable_then_input_then_the_peer_shutting_down()
    {
        const ulong token = 0x8000_0000_0000_0042;
        var (server, client) = ConnectedPair();
        using var epoll = new EpollSet(4);
        try
        {
            epoll.Add((int)server.Handle, EpollSet.In | EpollSet.Out | EpollSet.PeerHangUp | EpollSet.EdgeTriggered, token);
            var ready = Drain(epoll, expected: 1);
            ready[token].Should().Be(EpollSet.Out, "a fresh connection is writable and has nothing to read");
            epoll.Wait(0).Should().Be(0, "edge-triggered: an unchanged state is not reported again");

            client.Send("ping"u8);
            ready = Drain(epoll, expected: 1);
            (ready[token] & EpollSet.In).Should().Be(EpollSet.In);
            (ready[token] & EpollSet.PeerHangUp).Should().Be(0u);
            epoll.Wait(0).Should().Be(0, "edge-triggered: unread input raises no second event");

            client.Shutdown(SocketShutdown.Send);
            ready = Drain(epoll, expected: 1);
            (ready[token] & (EpollSet.In | EpollSet.PeerHangUp)).Should().Be(EpollSet.In | EpollSet.PeerHangUp);
        }
        finally
        {
            server.Dispose();
            client.Dispose();
        }
    }

    [Fact]
    public void Modify_to_no_events_silences_a_ready_descriptor_and_modify_back_restores_it_with_the_new_token()
    {
        using var epoll = new EpollSet(4);
        int fd = SocketHelpers.CreateEventFd();
        try
        {
            epoll.Add(fd, EpollSet.In, 1);
            SocketHelpers.Signal(fd);
            Drain(epoll, expected: 1).Keys.Should().Equal(1UL);
            Drain(epoll, expected: 1).Keys.Should().Equal([1UL], "level-triggered: still readable, reported again");

            epoll.Modify(fd, 0, 1);
            epoll.Wait(0).Should().Be(0);

            epoll.Modify(fd, EpollSet.In, 7);
            Drain(epoll, expected: 1).Keys.Should().Equal(7UL);
        }
        finally
        {
            SocketHelpers.Close(fd);
        }
    }

    [Fact]
    public void Remove_stops_reporting_and_the_descriptor_can_be_added_again()
    {
        using var epoll = new EpollSet(4);
        int fd = SocketHelpers.CreateEventFd();
        try
        {
            epoll.Add(fd, EpollSet.In, 5);
            SocketHelpers.Signal(fd);
            epoll.Remove(fd);
            epoll.Wait(0).Should().Be(0);

            var again = () => epoll.Add(fd, EpollSet.In, 6);
            again.Should().NotThrow("a removed descriptor is no longer registered");
            Drain(epoll, expected: 1).Keys.Should().Equal(6UL);
        }
        finally
        {
            SocketHelpers.Close(fd);
        }
    }

    [Fact]
    public void Wait_zero_on_an_empty_set_returns_at_once_with_nothing()
    {
        using var epoll = new EpollSet(4);
        epoll.Wait(0).Should().Be(0);
        epoll.Capacity.Should().Be(4);
    }

    [Theory]
    [InlineData("add")]
    [InlineData("modify")]
    public void Control_errors_are_reported_with_the_errno(string operation)
    {
        using var epoll = new EpollSet(4);
        int fd = SocketHelpers.CreateEventFd();
        try
        {
            Action act = operation == "add" ? () => epoll.Add(-1, EpollSet.In, 1) : () => epoll.Modify(fd, EpollSet.In, 1);
            act.Should().Throw<IOException>().Which.Message.Should().Contain("epoll_ctl").And.Contain("errno");
        }
        finally
        {
            SocketHelpers.Close(fd);
        }
    }

    [Fact]
    public void Dispose_closes_the_epoll_descriptor()
    {
        // The set is found among the process's descriptors by what it watches: our eventfd under a token
        // nothing else uses (other tests open epoll instances in parallel).
        const ulong token = 0x5EED_F00D_0BAD_CAFE;
        int fd = SocketHelpers.CreateEventFd();
        try
        {
            var epoll = new EpollSet(4);
            epoll.Add(fd, EpollSet.In, token);
            EpollDescriptorsWatching(fd, token).Should().ContainSingle("the new set is visible in /proc/self/fdinfo");

            epoll.Dispose();
            EpollDescriptorsWatching(fd, token).Should().BeEmpty();
            epoll.Dispose();
        }
        finally
        {
            SocketHelpers.Close(fd);
        }
    }

    [RequiresToolFact("gcc")]
    public async Task Epoll_event_layout_and_socket_constants_match_the_c_headers()
    {
        var c = new StringBuilder("#include <stdio.h>\n#include <stddef.h>\n#include <sys/epoll.h>\n#include <sys/socket.h>\n#include <sys/eventfd.h>\n#include <sys/uio.h>\n");
        c.Append("int main(void) {\n");
        foreach (var (name, _) in Constants)
        {
            c.Append(CultureInfo.InvariantCulture, $"  printf(\"{name} %u\\n\", (unsigned int)({name}));\n");
        }

        c.Append("  printf(\"sizeof:epoll_event %zu\\n\", sizeof(struct epoll_event));\n");
        c.Append("  printf(\"offsetof:epoll_event.events %zu\\n\", offsetof(struct epoll_event, events));\n");
        c.Append("  printf(\"offsetof:epoll_event.data %zu\\n\", offsetof(struct epoll_event, data));\n");
        c.Append("  printf(\"sizeof:msghdr %zu\\n\", sizeof(struct msghdr));\n");
        c.Append("  printf(\"offsetof:msghdr.msg_iov %zu\\n\", offsetof(struct msghdr, msg_iov));\n");
        c.Append("  printf(\"offsetof:msghdr.msg_iovlen %zu\\n\", offsetof(struct msghdr, msg_iovlen));\n");
        c.Append("  printf(\"offsetof:msghdr.msg_flags %zu\\n\", offsetof(struct msghdr, msg_flags));\n");
        c.Append("  printf(\"sizeof:iovec %zu\\n\", sizeof(struct iovec));\n");
        c.Append("  printf(\"offsetof:iovec.iov_len %zu\\n\", offsetof(struct iovec, iov_len));\n");
        c.Append("  return 0;\n}\n");
        var theirs = await CProgram.RunAsync(c.ToString(), output);

        var ours = Constants.ToDictionary(k => k.CName, k => (long)k.Ours);
        ours["sizeof:epoll_event"] = EpollSet.Stride;
        ours["offsetof:epoll_event.events"] = 0; // EventsAt reads the flags at the start of each entry
        ours["offsetof:epoll_event.data"] = EpollSet.DataOffset;
        ours["sizeof:msghdr"] = Marshal.SizeOf<MessageHeader>();
        ours["offsetof:msghdr.msg_iov"] = Marshal.OffsetOf<MessageHeader>(nameof(MessageHeader.IoVectors)).ToInt64();
        ours["offsetof:msghdr.msg_iovlen"] = Marshal.OffsetOf<MessageHeader>(nameof(MessageHeader.IoVectorCount)).ToInt64();
        ours["offsetof:msghdr.msg_flags"] = Marshal.OffsetOf<MessageHeader>(nameof(MessageHeader.Flags)).ToInt64();
        ours["sizeof:iovec"] = Marshal.SizeOf<IoVector>();
        ours["offsetof:iovec.iov_len"] = Marshal.OffsetOf<IoVector>(nameof(IoVector.Length)).ToInt64();
        theirs.Should().BeEquivalentTo(ours);
    }

    /// <summary>Waits (bounded) until <paramref name="expected"/> events are ready; token to flags.</summary>
    private static Dictionary<ulong, uint> Drain(EpollSet epoll, int expected)
    {
        var ready = new Dictionary<ulong, uint>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (ready.Count < expected && DateTime.UtcNow < deadline)
        {
            int n = epoll.Wait(1000);
            for (int i = 0; i < n; i++)
            {
                ready[epoll.TokenAt(i)] = epoll.EventsAt(i);
            }
        }

        ready.Should().HaveCount(expected);
        return ready;
    }

    private static (Socket Server, Socket Client) ConnectedPair()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        return (listener.Accept(), client);
    }

    /// <summary>The process's epoll descriptors with <paramref name="fd"/> registered under <paramref name="token"/>.</summary>
    private static List<int> EpollDescriptorsWatching(int fd, ulong token) => EpollDescriptors()
        .Where(e => EpollEntries(e).Any(w => w.Fd == fd && w.Data == token))
        .ToList();

    private static List<int> EpollDescriptors()
    {
        var found = new List<int>();
        foreach (var path in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(path).LinkTarget == "anon_inode:[eventpoll]")
                {
                    found.Add(int.Parse(Path.GetFileName(path), CultureInfo.InvariantCulture));
                }
            }
            catch (IOException)
            {
                // Closed between listing and reading: not open any more.
            }
        }

        return found;
    }

    /// <summary>The registrations of an epoll descriptor, from its fdinfo lines "tfd: N events: X data: X ...".</summary>
    private static List<(int Fd, ulong Data)> EpollEntries(int epollFd)
    {
        var entries = new List<(int, ulong)>();
        try
        {
            foreach (var line in File.ReadLines($"/proc/self/fdinfo/{epollFd}"))
            {
                var f = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                if (f.Length >= 6 && f[0] == "tfd:" && f[4] == "data:")
                {
                    entries.Add((int.Parse(f[1], CultureInfo.InvariantCulture), ulong.Parse(f[5], NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
                }
            }
        }
        catch (IOException)
        {
            // Closed meanwhile by whoever owns it.
        }

        return entries;
    }
}

/// <summary>What the epoll loop must get right on real connections: EAGAIN on send, pipelining, FIN with the request, several loops.</summary>
public class EpollTransportTests : TransportTests
{
    protected override TransportKind Transport => TransportKind.Epoll;

    [Fact]
    public async Task A_response_larger_than_the_send_buffer_reaches_a_slow_reader_complete()
    {
        // 8 MiB against a 64 KiB receive buffer read in small sips: sends hit EAGAIN and must resume on EPOLLOUT.
        var body = Pattern(8 * 1024 * 1024);
        await using var ts = await StartAsync(s => s.HandleStatic("GET", "/big", body, "application/octet-stream"), o => o.LoopCount = 1);
        using var c = (await RawConnection.ConnectAsync(ts.Port, receiveBufferSize: 64 * 1024))
            .ReadSlowly(16 * 1024, pauseEveryReads: 16, TimeSpan.FromMilliseconds(1));
        await c.SendAsync("GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        await Task.Delay(200); // let the server fill both socket buffers before the first read

        var response = await c.ReadResponseAsync(timeout: TimeSpan.FromSeconds(60));
        response.StatusLine.Should().StartWith("HTTP/1.1 200 OK");
        response.Header("Content-Length").Should().Be(body.Length.ToString(CultureInfo.InvariantCulture));
        response.Body.AsSpan().SequenceEqual(body).Should().BeTrue("every byte must arrive, in order");
    }

    [Fact]
    public async Task A_pipelined_burst_of_100_requests_in_one_write_gets_100_responses_in_order()
    {
        await using var ts = await StartAsync(s => s.Run(env => new ValueTask<RackResponse>(RackResponse.Text(200, env.Path))), o => o.LoopCount = 1);
        using var c = await ts.ConnectAsync();
        var burst = new StringBuilder();
        for (int i = 0; i < 100; i++)
        {
            burst.Append(CultureInfo.InvariantCulture, $"GET /r{i} HTTP/1.1\r\nHost: x\r\n\r\n");
        }

        await c.SendAsync(burst.ToString());
        var bodies = new List<string>();
        for (int i = 0; i < 100; i++)
        {
            var response = await c.ReadResponseAsync();
            response.Status.Should().Be(200);
            bodies.Add(response.BodyText);
        }

        bodies.Should().Equal(Enumerable.Range(0, 100).Select(i => $"/r{i}"));
    }

    [Fact]
    public async Task A_pipelined_burst_larger_than_the_input_pipe_is_answered_in_order()
    {
        // 20,000 requests (about 2.4 MB) in one write: receives fill the 64 KiB loop buffer (a full read is
        // followed by another), and 20 MB of responses back up past the socket buffers, so sends hit EAGAIN
        // while requests keep arriving. Nothing may be lost or reordered. (Resuming a paused receive with no
        // output under way is covered by the slow-reader test in LoopTransportTests.)
        const int count = 20_000;
        var pad = new string('b', 1000);
        await using var ts = await StartAsync(s => s.Run(env => new ValueTask<RackResponse>(RackResponse.Text(200, env.Path + pad))), o => o.LoopCount = 1);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 64 * 1024 };
        await socket.ConnectAsync(IPAddress.Loopback, ts.Port);
        var burst = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            burst.Append(CultureInfo.InvariantCulture, $"GET /r{i} HTTP/1.1\r\nHost: x\r\nX-Pad: {new string('p', 64)}\r\n\r\n");
        }

        var bytes = Encoding.ASCII.GetBytes(burst.ToString());
        bytes.Length.Should().BeGreaterThan(2 * 1024 * 1024);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var send = socket.SendAsync(bytes, SocketFlags.None, cts.Token).AsTask();

        // Not reading for a moment lets the responses back up (reading below drains everything either way).
        await Task.Delay(500);

        // Responses are parsed as they stream in: status line, Content-Length, body equal to the request's path.
        var pending = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int next = 0;
        int offset = 0;
        while (next < count)
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            n.Should().BePositive("the server must not close with {0} responses outstanding", count - next);
            pending.Write(buffer, 0, n);
            var data = pending.GetBuffer().AsSpan(0, (int)pending.Length);
            while (next < count)
            {
                int headEnd = data[offset..].IndexOf("\r\n\r\n"u8);
                if (headEnd < 0)
                {
                    break;
                }

                string head = Encoding.ASCII.GetString(data.Slice(offset, headEnd));
                int lengthAt = head.IndexOf("Content-Length: ", StringComparison.Ordinal);
                head.Should().StartWith("HTTP/1.1 200 OK");
                lengthAt.Should().BePositive();
                int length = int.Parse(head.AsSpan(lengthAt + 16).ToString().Split("\r\n")[0], CultureInfo.InvariantCulture);
                int bodyAt = offset + headEnd + 4;
                if (data.Length - bodyAt < length)
                {
                    break;
                }

                Encoding.ASCII.GetString(data.Slice(bodyAt, length)).Should().Be($"/r{next}{pad}");
                next++;
                offset = bodyAt + length;
            }
        }

        await send;
        next.Should().Be(count);
    }

    [Theory]
    [InlineData("GET /fin HTTP/1.1\r\nHost: x\r\n\r\n", "GET ")]
    [InlineData("POST /fin HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", "POST hello")]
    public async Task A_request_sent_together_with_the_fin_still_gets_its_response(string request, string expected)
    {
        // Request bytes and FIN arrive in one edge (EPOLLIN | EPOLLRDHUP): the loop must read to the end,
        // answer, and only then close.
        await using var ts = await StartAsync(
            s => s.Run(async env =>
            {
                var ms = new MemoryStream();
                await env.Body.CopyToAsync(ms);
                return RackResponse.Text(200, env.Method + " " + Encoding.ASCII.GetString(ms.ToArray()));
            }),
            o => o.LoopCount = 1);
        using var c = await ts.ConnectAsync();
        await c.SendAsync(request);
        c.Socket.Shutdown(SocketShutdown.Send);
        var response = await c.ReadResponseAsync();
        response.Status.Should().Be(200);
        response.BodyText.Should().Be(expected);
        (await c.IsClosedByServerAsync()).Should().BeTrue("the client has nothing more to send");
    }

    [Fact]
    public async Task Two_loops_serve_200_concurrent_connections()
    {
        await using var ts = await StartAsync(s => s.HandleStatic("GET", "/", "ok"), o => o.LoopCount = 2);
        ts.Server.ActiveTransport.Should().Be(TransportKind.Epoll);
        var connections = new List<RawConnection>();
        try
        {
            for (int i = 0; i < 200; i++)
            {
                connections.Add(await ts.ConnectAsync());
            }

            await Task.WhenAll(connections.Select(c => c.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
            var responses = await Task.WhenAll(connections.Select(c => c.ReadResponseAsync(timeout: TimeSpan.FromSeconds(20))));
            responses.Should().OnlyContain(r => r.Status == 200 && r.BodyText == "ok");

            // Kept alive: each connection serves a second request.
            await Task.WhenAll(connections.Select(c => c.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
            responses = await Task.WhenAll(connections.Select(c => c.ReadResponseAsync(timeout: TimeSpan.FromSeconds(20))));
            responses.Should().OnlyContain(r => r.Status == 200 && r.BodyText == "ok");
        }
        finally
        {
            foreach (var c in connections)
            {
                c.Dispose();
            }
        }
    }

    private static byte[] Pattern(int length)
    {
        var data = new byte[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = (byte)((i * 31) % 251);
        }

        return data;
    }
}

/// <summary>
/// Process-wide state: the HYPERION_IO_URING variable is read by every server start, and descriptor counts
/// are only exact with no other test opening epoll instances. So these run alone.
/// </summary>
[Collection(nameof(AllocationCollection))]
public class EpollProcessTests
{
    [Theory]
    [InlineData(TransportKind.Auto)]
    [InlineData(TransportKind.IoUring)]
    public async Task HYPERION_IO_URING_0_starts_epoll_with_one_log_line_saying_so(TransportKind configured)
    {
        var original = Environment.GetEnvironmentVariable("HYPERION_IO_URING");
        Environment.SetEnvironmentVariable("HYPERION_IO_URING", "0");
        try
        {
            await using var ts = await TestServer.StartAsync(s => s.HandleStatic("GET", "/", "ok"), o => o.Transport = configured);
            ts.Server.ActiveTransport.Should().Be(TransportKind.Epoll);
            ts.Logs.Lines.Where(l => l.EventId.Name == "Transport").Should().ContainSingle()
                .Which.Message.Should().Contain("epoll").And.Contain("HYPERION_IO_URING=0");
            using var c = await ts.ConnectAsync();
            await c.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            (await c.ReadResponseAsync()).BodyText.Should().Be("ok");
        }
        finally
        {
            Environment.SetEnvironmentVariable("HYPERION_IO_URING", original);
        }
    }

    [Fact]
    public async Task A_stopped_epoll_server_leaves_no_epoll_or_eventfd_descriptor()
    {
        // Warm the process's own socket engine (its first async operation opens an epoll instance for good) before counting.
        using (var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        using (var warm = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            await warm.ConnectAsync(listener.LocalEndPoint!);
        }

        int epollBefore = Count("anon_inode:[eventpoll]");
        int eventFdBefore = Count("anon_inode:[eventfd]");
        var ts = await TestServer.StartAsync(s => s.HandleStatic("GET", "/", "ok"), o =>
        {
            o.Transport = TransportKind.Epoll;
            o.LoopCount = 2;
        });
        try
        {
            using (var c = await ts.ConnectAsync())
            {
                await c.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
                (await c.ReadResponseAsync()).BodyText.Should().Be("ok");
            }

            Count("anon_inode:[eventpoll]").Should().BeGreaterThanOrEqualTo(epollBefore + 2, "each of the two loops holds an epoll instance");
            Count("anon_inode:[eventfd]").Should().BeGreaterThanOrEqualTo(eventFdBefore + 2, "each of the two loops holds a wake-up eventfd");
        }
        finally
        {
            await ts.DisposeAsync();
        }

        Count("anon_inode:[eventpoll]").Should().BeLessThanOrEqualTo(epollBefore);
        Count("anon_inode:[eventfd]").Should().BeLessThanOrEqualTo(eventFdBefore);
    }

    private static int Count(string target)
    {
        int count = 0;
        foreach (var path in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(path).LinkTarget == target)
                {
                    count++;
                }
            }
            catch (IOException)
            {
                // Closed between listing and reading.
            }
        }

        return count;
    }
}
