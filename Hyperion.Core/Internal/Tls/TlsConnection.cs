using System.IO.Pipelines;
using System.Net.Security;
using Hyperion.Internal.Http1;
using Hyperion.Internal.Timeouts;
using Hyperion.Internal.Transport;

namespace Hyperion.Internal.Tls;

/// <summary>
/// A connection on a TLS listener: runs the server handshake over the transport pipes (bounded by
/// <see cref="HyperionOptions.TlsHandshakeTimeout"/>), then serves the protocol ALPN chose (HTTP/1.1 when the
/// client named none) over pipes on the <see cref="SslStream"/>. Heartbeat, stop and abort go to that inner
/// session once it exists; the server tracks this object, not the inner one.
/// </summary>
internal sealed class TlsConnection : IProtocolConnection, ITimeoutHandler
{
    private const int NotCancelled = 0;
    private const int CancelledByTimeout = 1;
    private const int CancelledByStop = 2;

    private readonly HyperionServer _server;
    private readonly PipeReader _transportInput;
    private readonly PipeWriter _transportOutput;
    private readonly ConnectionContext _context;
    private readonly TlsListener _tls;
    private readonly CancellationTokenSource _handshakeCancel = new();
    private IProtocolConnection? _session;
    private int _cancelReason;
    private volatile bool _aborted;
    private bool _handshakeEndedByPeer;

    public TlsConnection(HyperionServer server, PipeReader input, PipeWriter output, ConnectionContext context, TlsListener tls)
    {
        _server = server;
        _transportInput = input;
        _transportOutput = output;
        _context = context;
        _tls = tls;
        context.Timeouts.Handler = this;
        context.Timeouts.SetTimeout(TimeoutReason.TlsHandshake, server.Options.TlsHandshakeTimeout);
    }

    public ConnectionContext Context => _context;

    public bool EndedByPeer => Volatile.Read(ref _session)?.EndedByPeer ?? _handshakeEndedByPeer;

    public async Task RunAsync()
    {
        var transport = new TransportPipeStream(_transportInput, _transportOutput);
        var ssl = new SslStream(transport, leaveInnerStreamOpen: true);
        try
        {
            if (!await HandshakeAsync(ssl, transport).ConfigureAwait(false))
            {
                return;
            }

            // From here the pipe writer over the SslStream flushes after each batch of records.
            _context.Timeouts.CancelTimeout(TimeoutReason.TlsHandshake);
            transport.FlushEachWrite = false;
            var session = CreateSession(ssl);
            Volatile.Write(ref _session, session);
            if (_aborted)
            {
                session.Abort();
            }

            await session.RunAsync().ConfigureAwait(false);
            if (!session.EndedByPeer && !_aborted)
            {
                await CloseNotifyAsync(ssl, transport).ConfigureAwait(false);
            }
        }
        finally
        {
            ssl.Dispose();
            await _transportOutput.CompleteAsync().ConfigureAwait(false);
            await _transportInput.CompleteAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask<bool> HandshakeAsync(SslStream ssl, TransportPipeStream transport)
    {
        try
        {
            var options = _tls.CreateOptions(offerHttp2: _server.Http2ConnectionFactory is not null);
            await ssl.AuthenticateAsServerAsync(options, _handshakeCancel.Token).ConfigureAwait(false);
            if (Volatile.Read(ref _cancelReason) == NotCancelled)
            {
                return true;
            }

            _server.Log.TlsHandshakeFailed(_context.RemoteText, CancelText());
            return false;
        }
#pragma warning disable CA1031 // Whatever the client sent, a failed handshake is one log line and a closed connection.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            // After a timeout or stop nothing was sent that a reset could destroy, so no lingering close; after a
            // protocol error the alert we sent is worth a lingering close.
            bool cancelled = Volatile.Read(ref _cancelReason) != NotCancelled;
            _handshakeEndedByPeer = transport.PeerClosed || cancelled;
            string reason = cancelled ? CancelText()
                : transport.PeerClosed ? "the client closed the connection"
                : ex.Message;
            _server.Log.TlsHandshakeFailed(_context.RemoteText, reason);
            return false;
        }
    }

    private string CancelText() => Volatile.Read(ref _cancelReason) == CancelledByTimeout
        ? "no handshake within TlsHandshakeTimeout"
        : "the server is stopping";

    private IProtocolConnection CreateSession(SslStream ssl)
    {
        var input = PipeReader.Create(ssl, _server.ReaderOptions);
        var output = PipeWriter.Create(ssl, _server.WriterOptions);
        var alpn = ssl.NegotiatedApplicationProtocol;
        _context.NegotiatedProtocol = alpn == default ? null : alpn.ToString();
        if (alpn == SslApplicationProtocol.Http2 && _server.Http2ConnectionFactory is { } http2)
        {
            return http2(_server, input, output, _context);
        }

        return new Http1Connection(_server, input, output, _context);
    }

    /// <summary>RFC 8446 §6.1: say we are done writing, so the client can tell a clean end from a truncation.</summary>
    private static async ValueTask CloseNotifyAsync(SslStream ssl, TransportPipeStream transport)
    {
        try
        {
            await ssl.ShutdownAsync().ConfigureAwait(false);
            await transport.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The client is already gone.
        }
    }

    public void OnHeartbeat(long now)
    {
        if (Volatile.Read(ref _session) is { } session)
        {
            session.OnHeartbeat(now);
        }
        else
        {
            _context.Timeouts.Tick(now);
        }
    }

    /// <summary>The connection's scheduler: the handshake took longer than <see cref="HyperionOptions.TlsHandshakeTimeout"/>.</summary>
    public void OnTimeout(TimeoutReason reason)
    {
        if (reason == TimeoutReason.TlsHandshake && Volatile.Read(ref _session) is null)
        {
            CancelHandshake(CancelledByTimeout);
        }
    }

    public void OnStopping()
    {
        if (Volatile.Read(ref _session) is { } session)
        {
            session.OnStopping();
        }
        else
        {
            // A connection still in its handshake has no request in flight: close it like an idle one.
            CancelHandshake(CancelledByStop);
        }
    }

    private void CancelHandshake(int reason)
    {
        if (Interlocked.CompareExchange(ref _cancelReason, reason, NotCancelled) == NotCancelled)
        {
            _handshakeCancel.Cancel();
            _transportInput.CancelPendingRead();
        }
    }

    public void Abort()
    {
        _aborted = true;
        if (Volatile.Read(ref _session) is { } session)
        {
            session.Abort();
        }
        else
        {
            CancelHandshake(CancelledByStop);
            _context.Abort?.Invoke();
        }

        // The tracked object is this one, not the inner session.
        _server.Untrack(this);
    }
}
