using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Tls;

/// <summary>
/// Handshakes that clients abort with a reset midway (after their ClientHello, or after the server's first flight)
/// must leave nothing behind that slows or fails the handshakes of everyone else. Run once per transport.
/// </summary>
public abstract class TlsChurnTests : TransportTests
{
    [Fact]
    public async Task Handshakes_aborted_midway_do_not_cost_completed_ones_anything()
    {
        await using var ts = await StartAsync(s => s.HandleStatic("GET", "/", "ok"), o => o.UseTls(TestCertificate.Certificate));
        const int Rounds = 1000;
        var failures = new List<string>();
        for (int round = 0; round < Rounds; round++)
        {
            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await tcp.ConnectAsync(IPAddress.Loopback, ts.Port);
            if (round % 2 == 0)
            {
                // Abort after the ClientHello (round % 4 == 0) or after the server's first flight arrived.
                var aborting = new ResetAfterStream(tcp, writes: 1, reads: round % 4 == 0 ? 0 : 1);
                using var ssl = new SslStream(aborting, leaveInnerStreamOpen: true);
                var abort = () => ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = "localhost",
                    RemoteCertificateValidationCallback = TestCertificate.Validate,
                });
                await abort.Should().ThrowAsync<IOException>();
                continue;
            }

            try
            {
                await using var ssl = new SslStream(new NetworkStream(tcp, ownsSocket: false));
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                await ssl.AuthenticateAsClientAsync(
                    new SslClientAuthenticationOptions { TargetHost = "localhost", RemoteCertificateValidationCallback = TestCertificate.Validate },
                    timeout.Token);
                await ssl.WriteAsync("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"u8.ToArray());
                var answer = await HttpsTests.ReadUntilAsync(ssl, "\r\n\r\nok");
                if (!answer.StartsWith("HTTP/1.1 200", StringComparison.Ordinal))
                {
                    failures.Add($"round {round}: {answer}");
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
            {
                failures.Add($"round {round}: {ex.GetType().Name}: {ex.Message}");
            }
        }

        failures.Should().BeEmpty("a handshake beside aborted ones completes and is answered");
        ts.Logs.Lines.Should().NotContain(l => l.EventId.Name == "LoopFailed");
    }

    /// <summary>A socket stream that resets the connection (SO_LINGER 0, close) once it has done the given writes and reads.</summary>
    private sealed class ResetAfterStream(Socket socket, int writes, int reads) : Stream
    {
        private int _writes;
        private int _reads;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            ResetWhenDone();
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            _reads++;
            ResetWhenDone();
            return n;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            ResetWhenDone();
            await socket.SendAsync(buffer, SocketFlags.None, cancellationToken);
            _writes++;
            ResetWhenDone();
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private void ResetWhenDone()
        {
            if (_writes >= writes && _reads >= reads)
            {
                if (socket.Connected)
                {
                    socket.LingerState = new LingerOption(true, 0);
                    socket.Close();
                }

                throw new IOException("handshake aborted by the test client");
            }
        }
    }
}

public sealed class TlsChurnTestsOnIoUring : TlsChurnTests
{
    protected override TransportKind Transport => IoUringOrFallback;
}

public sealed class TlsChurnTestsOnEpoll : TlsChurnTests
{
    protected override TransportKind Transport => TransportKind.Epoll;
}

public sealed class TlsChurnTestsOnSockets : TlsChurnTests
{
    protected override TransportKind Transport => TransportKind.Sockets;
}
