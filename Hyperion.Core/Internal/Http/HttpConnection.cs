using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using Hyperion.Internal.Http1;
using Hyperion.Internal.Tls;
using Hyperion.Internal.Transport;

namespace Hyperion.Internal.Http;

/// <summary>
/// One accepted connection and the one place its protocol is chosen: the listener's <see cref="HttpProtocols"/>,
/// ALPN on TLS, the HTTP/2 client preface on a cleartext port that serves both, and <c>Upgrade: h2c</c> where
/// HTTP/2 is allowed. The server tracks this object, and heartbeat, stop and abort reach whichever session is
/// active (the TLS handshake, HTTP/1.1, HTTP/2) through it.
/// </summary>
internal sealed class HttpConnection : IProtocolConnection
{
    private static ReadOnlySpan<byte> Preface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    private readonly HyperionServer _server;
    private readonly ConnectionContext _context;
    private readonly HttpProtocols _protocols;
    private readonly TlsConnection? _tls;
    private IProtocolConnection? _active;
    private int _aborted;

    public HttpConnection(HyperionServer server, PipeReader input, PipeWriter output, ConnectionContext context)
    {
        _server = server;
        _context = context;

        // Without HTTP/2 registered only HTTP/1.1 can run; StartAsync refuses listeners configured for HTTP/2.
        _protocols = server.Http2ConnectionFactory is null ? HttpProtocols.Http1 : context.Protocols;
        context.Connection = this;
        if (context.Tls is { } tls)
        {
            _tls = new TlsConnection(server, input, output, context, tls);
        }
        else
        {
            _active = _protocols == HttpProtocols.Http2 ? CreateHttp2(input, output) : new Http1Connection(server, input, output, context);
        }
    }

    /// <summary>What HTTP/1.1 does with the first bytes of a connection.</summary>
    internal enum PrefaceChoice
    {
        Http1,
        Http2,
        NeedMoreData,
    }

    public ConnectionContext Context => _context;

    public bool EndedByPeer => Volatile.Read(ref _active)?.EndedByPeer ?? _tls?.HandshakeEndedByPeer ?? false;

    /// <summary>
    /// HTTP/1.1 looks for the HTTP/2 preface in its first bytes (RFC 9113 §3.3, prior knowledge) when the listener
    /// serves both and ALPN has not already chosen (cleartext, or a TLS client that offered no ALPN).
    /// </summary>
    internal bool SniffsPreface => _protocols == HttpProtocols.Http1AndHttp2 && _context.NegotiatedProtocol is null;

    /// <summary><c>Upgrade: h2c</c> (RFC 7540 §3.2) is for cleartext listeners that allow HTTP/2; elsewhere it is ignored.</summary>
    internal bool AllowsH2cUpgrade => _tls is null && (_protocols & HttpProtocols.Http2) != 0;

    /// <summary>Decides, from the first bytes, whether a connection that serves both protocols is HTTP/2.</summary>
    internal static PrefaceChoice ChooseByPreface(in ReadOnlySequence<byte> buffer, bool isCompleted)
    {
        Span<byte> head = stackalloc byte[24];
        int n = (int)Math.Min(buffer.Length, head.Length);
        buffer.Slice(0, n).CopyTo(head);
        if (!head[..n].SequenceEqual(Preface[..n]))
        {
            return PrefaceChoice.Http1;
        }

        return n == Preface.Length ? PrefaceChoice.Http2 : isCompleted ? PrefaceChoice.Http1 : PrefaceChoice.NeedMoreData;
    }

    /// <summary>The HTTP/2 session a connection switches to (prior knowledge or an accepted h2c upgrade); see <see cref="SwitchToAsync"/>.</summary>
    internal IProtocolConnection CreateHttp2(PipeReader input, PipeWriter output)
        => (_server.Http2ConnectionFactory ?? throw new InvalidOperationException("HTTP/2 is not enabled."))(_server, input, output, _context);

    public Task RunAsync()
    {
        if (_tls is not null)
        {
            return RunTlsAsync(_tls);
        }

        // The session's own task, not one awaited here: no second state machine on every idle connection.
        return _active!.RunAsync();
    }

    /// <summary>
    /// Called by HTTP/1.1 once it has handed the connection over (preface or h2c upgrade) and let go of it:
    /// HTTP/2 becomes the session heartbeat, stop and abort reach. HTTP/1.1 awaits the returned task so one
    /// state machine carries the connection.
    /// </summary>
    internal Task SwitchToAsync(IProtocolConnection next)
    {
        Activate(next);
        return next.RunAsync();
    }

    private async Task RunTlsAsync(TlsConnection tls)
    {
        try
        {
            // ALPN offers only the listener's protocols: a client that shares none gets no_application_protocol.
            if (!await tls.HandshakeAsync(_protocols).ConfigureAwait(false))
            {
                return;
            }

            var (input, output) = tls.OpenPipes();
            var alpn = tls.NegotiatedProtocol;
            IProtocolConnection session = alpn == SslApplicationProtocol.Http2 || (alpn == default && _protocols == HttpProtocols.Http2)
                ? CreateHttp2(input, output) // h2 by ALPN; or no ALPN on an HTTP/2-only listener, which speaks HTTP/2 regardless (a non-preface gets GOAWAY)
                : new Http1Connection(_server, input, output, _context);
            Activate(session);
            await session.RunAsync().ConfigureAwait(false);

            if (!EndedByPeer && Volatile.Read(ref _aborted) == 0)
            {
                await tls.CloseNotifyAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            await tls.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void Activate(IProtocolConnection session)
    {
        // Full fence, paired with the one in Abort: either Abort sees this session or we see its flag.
        Interlocked.Exchange(ref _active, session);
        if (Volatile.Read(ref _aborted) != 0)
        {
            session.Abort();
        }
        else if (_server.IsStopping)
        {
            // A stop that came during the handshake or the h2c switch found no session to tell.
            session.OnStopping();
        }
    }

    public void OnHeartbeat(long now)
    {
        if (Volatile.Read(ref _active) is { } active)
        {
            active.OnHeartbeat(now);
        }
        else
        {
            _tls?.OnHeartbeat(now);
        }
    }

    public void OnStopping()
    {
        if (Volatile.Read(ref _active) is { } active)
        {
            active.OnStopping();
        }
        else
        {
            _tls?.CancelForStop();
        }
    }

    public void Abort()
    {
        Interlocked.Exchange(ref _aborted, 1);
        if (Volatile.Read(ref _active) is { } active)
        {
            active.Abort();
        }
        else
        {
            _tls?.CancelForStop();
            _context.Abort?.Invoke();
        }

        // The transport is gone even if an app task is still running: the connection no longer counts.
        _server.Untrack(this);
    }
}
