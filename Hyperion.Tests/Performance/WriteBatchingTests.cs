using System.IO.Pipelines;
using System.Text;
using Hyperion;
using Hyperion.Internal.Transport;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Performance;

/// <summary>
/// Issue #3: requests that arrive in one read are answered with one flush of the connection's output, which the
/// loop transports turn into one send. Driven through the server's own connection factory over pipes, with a
/// writer that counts flushes.
/// </summary>
public class WriteBatchingTests
{
    [Theory]
    [InlineData("/static", 16)]
    [InlineData("/dynamic", 16)]
    [InlineData("/app", 16)]
    [InlineData("/static", 1)]
    public async Task Requests_that_arrive_together_are_flushed_once(string path, int count)
    {
        await using var ts = await TestServer.StartAsync(s =>
        {
            s.HandleStatic("GET", "/static", "Hello, World!");
            s.Handle("GET", "/dynamic", env => RackResponse.Text(200, "Hello, World!"));
            s.Run(env => new ValueTask<RackResponse>(RackResponse.Text(200, "Hello, World!")));
        });
        var input = new Pipe();
        var output = new Pipe();
        var counting = new FlushCountingWriter(output.Writer);
        var connection = ts.Server.CreateConnection(input.Reader, counting, new ConnectionContext(null, 0, "http", null));
        var run = connection.RunAsync();

        var batch = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            batch.Append($"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        }

        await input.Writer.WriteAsync(Encoding.ASCII.GetBytes(batch.ToString()));
        string responses = await ReadUntilAsync(output.Reader, count);

        responses.Split("HTTP/1.1 200 OK\r\n").Length.Should().Be(count + 1);
        counting.Flushes.Should().Be(1, "{0} requests in one read must be answered with one flush", count);

        await input.Writer.CompleteAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static async Task<string> ReadUntilAsync(PipeReader reader, int responses)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var text = new StringBuilder();
        while (true)
        {
            var result = await reader.ReadAsync(timeout.Token);
            foreach (var segment in result.Buffer)
            {
                text.Append(Encoding.ASCII.GetString(segment.Span));
            }

            reader.AdvanceTo(result.Buffer.End);
            string s = text.ToString();
            if (s.Split("Hello, World!").Length > responses || result.IsCompleted)
            {
                return s;
            }
        }
    }

    /// <summary>Passes everything through and counts FlushAsync calls.</summary>
    private sealed class FlushCountingWriter(PipeWriter inner) : PipeWriter
    {
        public int Flushes { get; private set; }

        public override void Advance(int bytes) => inner.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            Flushes++;
            return inner.FlushAsync(cancellationToken);
        }
    }
}
