namespace Hyperion.Fuzz.Targets;

/// <summary>
/// h2frames: the frames an h2c prior-knowledge client sends after the preface (which the harness prepends, so the
/// fuzzer spends no time finding it). Drives the frame reader, stream state machine, flow control, HPACK and the
/// request-header checks through the real connection. Http2ConnectionException ends the connection with GOAWAY and
/// is logged, not thrown: FindingLog separates that from a bug.
/// </summary>
internal sealed class Http2FramesTarget : IFuzzTarget
{
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    private readonly ConnectionDriver _driver = new(server => server.UseHttp2());
    private byte[] _buffer = new byte[4096];

    public string Name => "h2frames";

    public void Run(ReadOnlySpan<byte> input)
    {
        int length = Preface.Length + input.Length;
        if (_buffer.Length < length)
        {
            _buffer = new byte[length];
        }

        Preface.CopyTo(_buffer, 0);
        input.CopyTo(_buffer.AsSpan(Preface.Length));
        _driver.Run(_buffer.AsSpan(0, length));
    }
}
