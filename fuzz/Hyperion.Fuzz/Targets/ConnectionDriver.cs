using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Hyperion.Internal.Transport;

namespace Hyperion.Fuzz.Targets;

/// <summary>
/// Runs one whole server connection over in-memory pipes: the input is what the client sent (then its FIN), the
/// connection is made where every transport makes it (<c>HyperionServer.CreateConnection</c>, so protocol selection
/// is the product's), and the routes read the whole request the way an app would. Everything completes
/// synchronously unless the code under test waits for something, which is then a hang.
/// </summary>
internal sealed class ConnectionDriver
{
    private static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(5);

    private static readonly PipeOptions Unbounded = new(
        pauseWriterThreshold: 0,
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        useSynchronizationContext: false);

    private readonly HyperionServer _server;
    private readonly FindingLog _log = new();
    private int _appsRunning;

    public ConnectionDriver(Action<HyperionServer>? configure = null)
    {
        _server = new HyperionServer(new HyperionOptions
        {
            LoggerFactory = _log,
            // Small limits so inputs of a few KiB reach every limit branch.
            MaxRequestLineSize = 512,
            MaxRequestHeadersTotalSize = 2048,
            MaxRequestHeaderCount = 16,
            MaxRequestBodySize = 4096,
        });
        configure?.Invoke(_server);
        _server.HandleStatic("GET", "/s", "static");
        _server.Handle("GET", "/d", env => RackResponse.Text(200, env.Path));
        _server.Run(ReadEverythingAsync);
    }

    public HyperionServer Server => _server;

    /// <summary>Feeds <paramref name="input"/> to a new connection and runs it to the end; returns the bytes it wrote.</summary>
    public long Run(ReadOnlySpan<byte> input)
    {
        _log.Reset();
        var toServer = new Pipe(Unbounded);
        var toClient = new Pipe(Unbounded);
        toServer.Writer.Write(input);
        toServer.Writer.Complete();

        var context = new ConnectionContext(null, 80, "http", null);
        context.Abort = () => toServer.Writer.Complete();
        var connection = _server.CreateConnection(toServer.Reader, toClient.Writer, context);
        // On the thread pool, waited for without inlining: under afl-fuzz the pool has one thread (Program.cs), so
        // the read loop and the HTTP/2 streams it queues take turns on it. SharpFuzz traces edges through one
        // shared previous-location word, which concurrent threads would scramble into edges that do not exist.
        var run = Task.Run(connection.RunAsync);
        if (!((IAsyncResult)run).AsyncWaitHandle.WaitOne(HangLimit))
        {
            throw new FuzzFindingException($"The connection did not finish within {HangLimit.TotalSeconds} s of the client's FIN.");
        }

        run.GetAwaiter().GetResult();

        // HTTP/2 runs a request with a body on the thread pool; the connection's end aborts it, so it must end too.
        // Waiting here also keeps one input's work (and coverage) out of the next one's.
        if (!SpinWait.SpinUntil(() => Volatile.Read(ref _appsRunning) == 0, HangLimit))
        {
            throw new FuzzFindingException($"An app call was still running {HangLimit.TotalSeconds} s after its connection finished.");
        }

        long written = 0;
        while (toClient.Reader.TryRead(out var result))
        {
            written += result.Buffer.Length;
            toClient.Reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        toClient.Reader.Complete();
        _log.ThrowIfFinding();
        return written;
    }

    /// <summary>The app: touch every lazily decoded part of the request, read the whole body, answer with its size.</summary>
    private async ValueTask<RackResponse> ReadEverythingAsync(RackEnv env)
    {
        Interlocked.Increment(ref _appsRunning);
        try
        {
            return await ReadEverythingCoreAsync(env).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _appsRunning);
        }
    }

    private static async ValueTask<RackResponse> ReadEverythingCoreAsync(RackEnv env)
    {
        int checksum = env.Path.Length + env.QueryString.Length + env.ServerName.Length + env.ServerPort;
        foreach (var (name, value) in env.Headers)
        {
            checksum += name.Length + value.Length;
        }

        checksum += env["HTTP_HOST"] is string host ? host.Length : 0;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1024);
        long total = 0;
        try
        {
            int n;
            while ((n = await env.Body.ReadAsync(buffer.AsMemory(0, 1000)).ConfigureAwait(false)) > 0)
            {
                total += n;
            }
        }
        catch (IOException)
        {
            // The stream or connection was reset under the app: the normal way a bad client ends a request.
            return RackResponse.Empty(400);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return RackResponse.Text(200, Encoding.ASCII.GetString([(byte)('0' + (checksum % 10))]) + total);
    }
}
