using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using Hyperion.Internal.Timeouts;
using Hyperion.Internal.Transport;

namespace Hyperion.Internal.Tls;

/// <summary>
/// The TLS layer of a connection on a TLS listener: runs the server handshake over the transport pipes (bounded by
/// <see cref="HyperionOptions.TlsHandshakeTimeout"/>), offering in ALPN only the listener's protocols, then lends
/// pipes over the <see cref="SslStream"/> to the protocol <see cref="Http.HttpConnection"/> selects, and ends with
/// close_notify. Which protocol runs, and where heartbeat, stop and abort go, is not decided here.
/// </summary>
internal sealed class TlsConnection : IAsyncDisposable, ITimeoutHandler
{
    private const int NotCancelled = 0;
    private const int CancelledByTimeout = 1;
    private const int CancelledByStop = 2;

    private readonly HyperionServer _server;
    private readonly PipeReader _transportInput;
    private readonly PipeWriter _transportOutput;
    private readonly ConnectionContext _context;
    private readonly TlsListener _tls;
    private readonly TransportPipeStream _transport;
    private readonly SslStream _ssl;
    private readonly CancellationTokenSource _handshakeCancel = new();
    private int _cancelReason;

    public TlsConnection(HyperionServer server, PipeReader input, PipeWriter output, ConnectionContext context, TlsListener tls)
    {
        _server = server;
        _transportInput = input;
        _transportOutput = output;
        _context = context;
        _tls = tls;
        _transport = new TransportPipeStream(input, output);
        _ssl = new SslStream(_transport, leaveInnerStreamOpen: true);

        // The handshake deadline runs on the connection's timeout controller until a session takes it over.
        context.Timeouts.Handler = this;
        context.Timeouts.SetTimeout(TimeoutReason.TlsHandshake, server.Options.TlsHandshakeTimeout);
    }

    /// <summary>True when the handshake failed because the client went away (or was never going to answer): no lingering close.</summary>
    public bool HandshakeEndedByPeer { get; private set; }

    /// <summary>What ALPN chose; default when the client offered no ALPN.</summary>
    public SslApplicationProtocol NegotiatedProtocol => _ssl.NegotiatedApplicationProtocol;

    /// <summary>
    /// Runs the handshake; false (logged) when it failed, timed out or was cancelled by a stop. A client whose ALPN list
    /// shares nothing with <paramref name="protocols"/> fails here with the no_application_protocol alert (RFC 7301 §3.2).
    /// </summary>
    public async ValueTask<bool> HandshakeAsync(HttpProtocols protocols)
    {
        try
        {
            if (await IsPlainHttpAsync().ConfigureAwait(false))
            {
                await AnswerPlainHttpAsync().ConfigureAwait(false);
                return false;
            }

            await _ssl.AuthenticateAsServerAsync(_tls.CreateOptions(protocols, _server.Options), _handshakeCancel.Token).ConfigureAwait(false);
            if (Volatile.Read(ref _cancelReason) == NotCancelled)
            {
                _context.Timeouts.CancelTimeout(TimeoutReason.TlsHandshake);
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
            HandshakeEndedByPeer = _transport.PeerClosed || cancelled;
            string reason = cancelled ? CancelText()
                : _transport.PeerClosed ? "the client closed the connection"
                : ex.Message;
            _server.Log.TlsHandshakeFailed(_context.RemoteText, reason);
            return false;
        }
    }

    /// <summary>
    /// Looks at the first byte without consuming it: a TLS record starts with a content type (0x16 for the ClientHello,
    /// RFC 8446 §5.1), an HTTP/1.1 request with a method token, in practice an uppercase letter.
    /// </summary>
    private async ValueTask<bool> IsPlainHttpAsync()
    {
        var result = await _transportInput.ReadAsync(_handshakeCancel.Token).ConfigureAwait(false);
        var buffer = result.Buffer;
        bool plain = !buffer.IsEmpty && buffer.FirstSpan[0] is >= (byte)'A' and <= (byte)'Z';
        _transportInput.AdvanceTo(buffer.Start); // nothing examined: the handshake reads the same bytes
        return plain;
    }

    /// <summary>As Go's net/http does: a readable 400 for curl http://, one Information line, then close.</summary>
    private async ValueTask AnswerPlainHttpAsync()
    {
        _server.Log.PlainHttpOnTls(_context.RemoteText, _context.LocalPort);
        _transportOutput.Write(PlainHttpAnswer);
        await _transportOutput.FlushAsync(_handshakeCancel.Token).ConfigureAwait(false);
    }

    private static ReadOnlySpan<byte> PlainHttpAnswer =>
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 48\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"u8;

    private string CancelText() => Volatile.Read(ref _cancelReason) == CancelledByTimeout
        ? "no handshake within TlsHandshakeTimeout"
        : "the server is stopping";

    /// <summary>Pipes over the decrypted stream, for the protocol session; the writer flushes after each batch of records.</summary>
    public (PipeReader Input, PipeWriter Output) OpenPipes()
    {
        _transport.FlushEachWrite = false;
        var alpn = _ssl.NegotiatedApplicationProtocol;
        _context.NegotiatedProtocol = alpn == default ? null : alpn.ToString();
        _context.ClientCertificate = _ssl.RemoteCertificate as System.Security.Cryptography.X509Certificates.X509Certificate2;
        return (PipeReader.Create(_ssl, _server.ReaderOptions), PipeWriter.Create(_ssl, _server.WriterOptions));
    }

    /// <summary>RFC 8446 §6.1: say we are done writing, so the client can tell a clean end from a truncation.</summary>
    public async ValueTask CloseNotifyAsync()
    {
        try
        {
            await _ssl.ShutdownAsync().ConfigureAwait(false);
            await _transport.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The client is already gone.
        }
    }

    /// <summary>Called by the heartbeat until a protocol session is active: checks the handshake deadline.</summary>
    public void OnHeartbeat(long now) => _context.Timeouts.Tick(now);

    /// <summary>The connection's scheduler: the handshake took longer than <see cref="HyperionOptions.TlsHandshakeTimeout"/>.</summary>
    public void OnTimeout(TimeoutReason reason)
    {
        if (reason == TimeoutReason.TlsHandshake)
        {
            CancelHandshake(CancelledByTimeout);
        }
    }

    /// <summary>A connection still in its handshake has no request in flight: a stop or an abort closes it like an idle one.</summary>
    public void CancelForStop() => CancelHandshake(CancelledByStop);

    private void CancelHandshake(int reason)
    {
        if (Interlocked.CompareExchange(ref _cancelReason, reason, NotCancelled) == NotCancelled)
        {
            _handshakeCancel.Cancel();
            _transportInput.CancelPendingRead();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _ssl.Dispose();
        await _transportOutput.CompleteAsync().ConfigureAwait(false);
        await _transportInput.CompleteAsync().ConfigureAwait(false);
    }
}
