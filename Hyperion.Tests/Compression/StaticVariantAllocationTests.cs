using System.Net;
using System.Net.Sockets;
using System.Text;
using Hyperion;
using Hyperion.Tests.Infrastructure;
using Hyperion.Tests.Performance;
using Xunit.Abstractions;

namespace Hyperion.Tests.Compression;

/// <summary>
/// Choosing a static variant by Accept-Encoding and answering If-None-Match allocate nothing per request; nor does
/// the compression middleware on a response it leaves alone (below the minimum size).
/// </summary>
[Collection(nameof(AllocationCollection))]
public class StaticVariantAllocationTests(ITestOutputHelper output)
{
    private const int Warmup = 3_000;
    private const int Measured = 10_000;
    private const int Rounds = 3;

    public static TheoryData<string, TransportKind> Cases()
    {
        var data = new TheoryData<string, TransportKind>();
        foreach (var transport in new[] { TransportKind.Sockets, TransportKind.IoUring, TransportKind.Epoll })
        {
            if (transport == TransportKind.IoUring && !Hyperion.Native.IoUringSupport.IsSupported)
            {
                continue; // IoUringAvailabilityTests reports the skip
            }

            data.Add("variant", transport);
            data.Add("304", transport);
            data.Add("middleware pass-through", transport);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Variant_selection_and_304_allocate_nothing_per_request(string kind, TransportKind transport)
    {
        await using var ts = await TestServer.StartAsync(
            s =>
            {
                s.HandleStatic("GET", "/todos.json", ResponseCompressionTests.Json, "application/json");
                s.Use(new ResponseCompression());
                s.Handle("GET", "/small", env => RackResponse.Text(200, "{\"id\":1,\"title\":\"small\"}", "application/json"));
            },
            o => o.Transport = transport);
        ts.Server.ActiveTransport.Should().Be(transport);
        string etag;
        using (var client = ts.CreateHttpClient())
        {
            var probe = new HttpRequestMessage(HttpMethod.Get, "/todos.json");
            probe.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip, br");
            using var r = await client.SendAsync(probe);
            r.Content.Headers.ContentEncoding.Should().Equal("br");
            etag = r.Headers.ETag!.ToString();
        }

        string condition = kind == "304" ? $"\"x\", W/{etag}" : "\"x\", \"y\"";
        string path = kind.StartsWith("middleware", StringComparison.Ordinal) ? "/small" : "/todos.json";
        var request = Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: t\r\nAccept-Encoding: gzip;q=0.9, br\r\nIf-None-Match: {condition}\r\n\r\n");
        var (perRequest, status) = await Task.Factory.StartNew(() => Measure(ts.Port, request), TaskCreationOptions.LongRunning);
        output.WriteLine($"{kind} on {transport}: {perRequest:F3} bytes/request");
        status.Should().StartWith(kind == "304" ? "HTTP/1.1 304" : "HTTP/1.1 200");
        ((int)perRequest).Should().Be(0);
    }

    private static (double PerRequest, string Status) Measure(int port, byte[] request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(IPAddress.Loopback, port);
        var buffer = new byte[64 * 1024];
        socket.Send(request);
        int length = ReadOneResponse(socket, buffer);
        string status = Encoding.ASCII.GetString(buffer, 0, 12);
        for (int i = 0; i < Warmup; i++)
        {
            RoundTrip(socket, request, buffer, length);
        }

        double best = double.MaxValue;
        for (int round = 0; round < Rounds; round++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < Measured; i++)
            {
                RoundTrip(socket, request, buffer, length);
            }

            best = Math.Min(best, (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)Measured);
        }

        return (best, status);
    }

    private static void RoundTrip(Socket socket, byte[] request, byte[] buffer, int length)
    {
        socket.Send(request);
        for (int got = 0; got < length;)
        {
            int n = socket.Receive(buffer, got, length - got, SocketFlags.None);
            got += n > 0 ? n : throw new IOException("server closed the connection");
        }
    }

    /// <summary>One response's length (fixed: the Date is fixed-width); a 304 has no Content-Length and no body.</summary>
    private static int ReadOneResponse(Socket socket, byte[] buffer)
    {
        int got = 0;
        socket.ReceiveTimeout = 5000;
        while (true)
        {
            got += socket.Receive(buffer, got, buffer.Length - got, SocketFlags.None);
            var text = Encoding.Latin1.GetString(buffer, 0, got);
            int headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (headEnd < 0)
            {
                continue;
            }

            var lengthLine = text[..headEnd].Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
            int total = headEnd + 4 + (lengthLine is null ? 0 : int.Parse(lengthLine.Split(':')[1].Trim()));
            if (got >= total)
            {
                return total;
            }
        }
    }
}
