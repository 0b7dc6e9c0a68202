using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Hyperion.Internal.Http1;
using Hyperion.Internal.Infrastructure;

namespace Hyperion.Internal.Transport.Loops;

/// <summary>
/// One accepted socket on an io_uring loop. Received bytes are written into <see cref="Input"/>, whose
/// reader (the HTTP/1.1 connection) resumes inline on the loop thread; what the connection writes to
/// <see cref="Output"/> is sent from the loop thread, one send in flight at a time.
/// All members except the input pipe's reader and the output's writer side are used on the loop thread only.
/// </summary>
internal sealed class LoopConnection
{
    private readonly TransportLoop _loop;
    private bool _unflushedWhilePaused;

    public LoopConnection(TransportLoop loop, int fd, ulong id, IPEndPoint? remote, int localPort, ListenerSettings listener, PipeOptions inputOptions)
    {
        _loop = loop;
        Fd = fd;
        Id = id;
        Input = new Pipe(inputOptions);
        Output = new LoopOutput(this, loop, inputOptions.Pool);
        // Cleartext protocol code runs on the loop thread, TLS on the thread pool (see TransportLoop): timeouts follow it.
        Context = new ConnectionContext(remote, localPort, listener, socket: null) { Scheduler = listener.Tls is null ? loop.Scheduler : PipeScheduler.ThreadPool };
        Context.SetAbort(static s => ((LoopConnection)s!).PostAbort(), this);
    }

    public int Fd { get; }

    public ulong Id { get; }

    public Pipe Input { get; }

    public LoopOutput Output { get; }

    public ConnectionContext Context { get; }

    public IProtocolConnection? Protocol { get; set; }

    public bool RecvArmed { get; set; }

    public bool SendInFlight { get; set; }

    /// <summary>O_NONBLOCK set on the socket (io_uring: only once a file body is sent with sendfile).</summary>
    public bool NonBlocking { get; set; }

    /// <summary>The last sendfile took less than asked: the socket buffer is full, so wait for room before the next.</summary>
    public bool SendBufferFull { get; set; }

    public bool InputCompleted { get; private set; }

    public bool InputPaused { get; private set; }

    public bool Closed { get; set; }

    public bool Lingering { get; set; }

    public long LingerDeadline { get; set; }

    /// <summary>Whether the loop should keep a receive armed for this connection.</summary>
    public bool WantsRecv => !Closed && (Lingering || (!InputCompleted && !InputPaused));

    /// <summary>Hands received bytes to the protocol; with a synchronous route the response is produced before this returns.</summary>
    public void OnData(ReadOnlySpan<byte> data)
    {
        if (InputCompleted)
        {
            return; // lingering close: discard
        }

        var writer = Input.Writer;
        data.CopyTo(writer.GetSpan(data.Length));
        writer.Advance(data.Length);
        if (InputPaused)
        {
            // A receive that was in flight when we paused: the pipe allows one pending flush, and it is being
            // awaited, so keep these bytes unflushed until it completes. The receive is being cancelled, so
            // at most a few buffers arrive here.
            _unflushedWhilePaused = true;
            return;
        }

        Flush();
    }

    private void Flush()
    {
        var flush = Input.Writer.FlushAsync();
        if (flush.IsCompletedSuccessfully)
        {
            if (flush.Result.IsCompleted)
            {
                // The protocol stopped reading: nothing more is wanted.
                CompleteInput(null);
            }

            return;
        }

        // Back-pressure: the app is not reading its body. Stop receiving until the pipe drains.
        InputPaused = true;
        _loop.CancelRecv(this);
        BackgroundTasks.Observe(ResumeWhenFlushedAsync(flush), _loop.Log, "receive resume");
    }

    private async Task ResumeWhenFlushedAsync(ValueTask<FlushResult> flush)
    {
        FlushResult result;
        try
        {
            result = await flush.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            result = new FlushResult(isCanceled: false, isCompleted: true);
        }

        _loop.Post(static s =>
        {
            var (c, completed) = ((LoopConnection, bool))s!;
            c.InputPaused = false;
            if (completed)
            {
                c.CompleteInput(null);
            }
            else if (c._unflushedWhilePaused && !c.InputCompleted)
            {
                c._unflushedWhilePaused = false;
                c.Flush();
            }

            c._loop.EnsureRecv(c);
        }, (this, result.IsCompleted));
    }

    public void CompleteInput(Exception? error)
    {
        if (!InputCompleted)
        {
            InputCompleted = true;
            Input.Writer.Complete(error);
        }
    }

    public void OnSendCompleted(int result) => Output.OnSendCompleted(result);

    private void PostAbort() => _loop.Post(static s => ((LoopConnection)s!)._loop.CloseNow((LoopConnection)s!), this);
}
