using System.Buffers;
using System.Buffers.Text;
using System.Text;
using Hyperion.Internal.Http;
using Hyperion.Internal.Transport;

namespace Hyperion.Internal.Http1;

/// <summary>
/// h2c on a port that serves both protocols: a connection that opens with the HTTP/2 preface (prior knowledge,
/// RFC 9113 §3.3) or asks for <c>Upgrade: h2c</c> (RFC 7540 §3.2) is handed, pipes and buffered bytes intact, to
/// HTTP/2. Whether either is allowed is <see cref="HttpConnection"/>'s decision; this reads the bytes.
/// </summary>
internal sealed partial class Http1Connection
{
    private bool _sniffPreface;

    // The HTTP/2 session this connection was handed to (preface or h2c upgrade); null while it is HTTP/1.1.
    private IProtocolConnection? _switchTo;

    /// <summary>Decides whether this request upgrades; if so the 101 is written and <see cref="_switchTo"/> set.</summary>
    private async ValueTask<bool> TryUpgradeH2cAsync(RackEnv env)
    {
        // A request with a body is served over HTTP/1.1 rather than buffered (RFC 7540 §3.2 lets us ignore Upgrade).
        if (!_head.Http11 || _head.Chunked || _head.ContentLength > 0 || _head.ExpectContinue)
        {
            return false;
        }

        int upgrade = env.Headers.IndexOf("Upgrade"u8, 0);
        if (upgrade < 0 || !HasToken(env.Headers.ValueBytes(upgrade), "h2c"u8) || env.Headers.IndexOf("Upgrade"u8, upgrade + 1) >= 0)
        {
            return false;
        }

        // RFC 7540 §3.2.1: exactly one HTTP2-Settings field, named in Connection.
        int settings = env.Headers.IndexOf("HTTP2-Settings"u8, 0);
        if (settings < 0 || env.Headers.IndexOf("HTTP2-Settings"u8, settings + 1) >= 0)
        {
            return false;
        }

        int connection = env.Headers.IndexOf("Connection"u8, 0);
        if (connection < 0 || !HasToken(env.Headers.ValueBytes(connection), "http2-settings"u8))
        {
            return false;
        }

        var encoded = env.Headers.ValueBytes(settings);
        byte[] payload = new byte[Base64Url.GetMaxDecodedLength(encoded.Length)];
        if (Base64Url.DecodeFromUtf8(encoded, payload, out _, out int written) != OperationStatus.Done || written % 6 != 0)
        {
            return false;
        }

        var h2 = _httpConnection.CreateHttp2(_input, _output);
        if (h2 is not IH2cUpgrade target)
        {
            return false;
        }

        env.RemoteEndPoint = _context.Remote;
        env.ClientCertificate = _context.ClientCertificate;
        env.LocalPort = _context.LocalPort;
        env.Scheme = _context.Scheme;
        try
        {
            target.PrepareUpgrade(payload.AsSpan(0, written), env);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Settings we would have to reject: stay on HTTP/1.1.
            return false;
        }

        _output.Write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"u8);
        _unflushed = false;
        await FlushOutputAsync().ConfigureAwait(false);
        _switchTo = h2;
        return true;
    }

    private static bool HasToken(ReadOnlySpan<byte> list, ReadOnlySpan<byte> token)
    {
        foreach (var range in list.Split((byte)','))
        {
            if (Ascii.EqualsIgnoreCase(list[range].Trim(" \t"u8), token))
            {
                return true;
            }
        }

        return false;
    }
}
