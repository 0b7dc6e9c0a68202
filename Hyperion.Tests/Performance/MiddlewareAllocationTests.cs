using System.Net;
using System.Net.Sockets;
using System.Text;
using Hyperion;
using Hyperion.Internal.Dispatch;
using Hyperion.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Hyperion.Tests.Performance;

/// <summary>
/// A pass-through middleware costs nothing per request (issue #11 item 2): the delegate form and a class whose
/// async InvokeAsync awaits next. Measured on the dispatcher directly (bytes this thread allocated per request) and
/// over a real loopback keep-alive connection on every transport, like <see cref="AllocationTests"/>.
/// </summary>
[Collection(nameof(AllocationCollection))]
public class MiddlewareAllocationTests(ITestOutputHelper output)
{
    private const int Warmup = 3_000;
    private const int Measured = 10_000;

    public static TheoryData<string> Forms => new() { "none", "delegate", "class", "both" };

    public static TheoryData<TransportKind> Transports() => AllocationCollection.Transports();

    private static void Configure(HyperionServer s, string form)
    {
        s.Handle("GET", "/dynamic", env => RackResponse.Text(200, "Hello, World!"));
        if (form is "delegate" or "both")
        {
            s.Use(next => env => next(env));
        }

        if (form is "class" or "both")
        {
            s.Use(new AwaitingPassThrough());
        }
    }

    [Theory]
    [MemberData(nameof(Forms))]
    public async Task Dispatch_through_pass_through_middleware_allocates_nothing(string form)
    {
        await using var server = new HyperionServer(new HyperionOptions { Port = 0 });
        Configure(server, form);
        using (server.CreateClient())
        {
            // Composes the chain, as StartAsync does.
        }

        var routes = server.Routes.Find("/dynamic")!;
        var entry = routes.Find("GET");
        var env = new RackEnv();
        double perRequest = await Task.Factory.StartNew(
            () =>
            {
                for (int i = 0; i < Warmup; i++)
                {
                    Dispatch(server, env, entry, routes);
                }

                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < Measured; i++)
                {
                    Dispatch(server, env, entry, routes);
                }

                return (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Measured;
            },
            TaskCreationOptions.LongRunning);
        output.WriteLine($"{form}: {perRequest:F3} bytes/request on the dispatcher");
        perRequest.Should().Be(0);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_request_through_both_pass_through_forms_allocates_nothing_on_the_wire(TransportKind transport)
    {
        await using var ts = await TestServer.StartAsync(s => Configure(s, "both"), o => o.Transport = transport);
        ts.Server.ActiveTransport.Should().Be(transport);
        double perRequest = await Task.Factory.StartNew(() => Measure(ts.Port), TaskCreationOptions.LongRunning);
        output.WriteLine($"/dynamic behind two middleware on {transport}: {perRequest:F3} bytes/request");
        ((int)perRequest).Should().Be(0);
    }

    private static void Dispatch(HyperionServer server, RackEnv env, Hyperion.Internal.Routing.RouteEntry? entry, Hyperion.Internal.Routing.PathRoutes routes)
    {
        var pending = RequestDispatcher.InvokeAsync(server, env, entry, routes, asteriskForm: false);
        if (!pending.IsCompletedSuccessfully || pending.Result.Status != 200)
        {
            throw new InvalidOperationException("a synchronous route behind pass-through middleware completes inline");
        }
    }

    private static double Measure(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(IPAddress.Loopback, port);
        socket.ReceiveTimeout = 5000;
        byte[] request = Encoding.ASCII.GetBytes("GET /dynamic HTTP/1.1\r\nHost: localhost\r\n\r\n");
        byte[] buffer = new byte[4096];
        socket.Send(request);
        int length = 0;
        while (true)
        {
            length += socket.Receive(buffer, length, buffer.Length - length, SocketFlags.None);
            var text = Encoding.ASCII.GetString(buffer, 0, length);
            if (text.EndsWith("Hello, World!", StringComparison.Ordinal))
            {
                break;
            }
        }

        for (int i = 0; i < Warmup; i++)
        {
            RoundTrip(socket, request, buffer, length);
        }

        double best = double.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < Measured; i++)
            {
                RoundTrip(socket, request, buffer, length);
            }

            best = Math.Min(best, (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)Measured);
        }

        return best;
    }

    private static void RoundTrip(Socket socket, byte[] request, byte[] buffer, int length)
    {
        socket.Send(request);
        int got = 0;
        while (got < length)
        {
            int n = socket.Receive(buffer, got, length - got, SocketFlags.None);
            if (n == 0)
            {
                throw new IOException("server closed the connection");
            }

            got += n;
        }
    }

    /// <summary>The class form as a user writes it: async, awaiting next, returning its result.</summary>
    private sealed class AwaitingPassThrough : IRackMiddleware
    {
        public async ValueTask<RackResponse> InvokeAsync(RackEnv env, RackApp next) => await next(env).ConfigureAwait(false);
    }
}
