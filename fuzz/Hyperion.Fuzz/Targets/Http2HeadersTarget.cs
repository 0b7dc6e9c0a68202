using Hyperion.Internal.Http;
using Hyperion.Http2.Internal;

namespace Hyperion.Fuzz.Targets;

/// <summary>
/// h2headers: the decoded field list of one HTTP/2 request (or trailer) block, straight into the request-header
/// sink, so the fuzzer spends no effort on HPACK. Input: one flags octet (bit 0: trailers), then fields as
/// [name length][name][value length][value] (one octet each). The sink must never throw (it runs inside the HPACK
/// decoder, RFC 9113 §4.3), and what it accepts must hold the RFC 9113 §8.2/§8.3 rules checked here.
/// </summary>
internal sealed class Http2HeadersTarget : IFuzzTarget
{
    private readonly Http2RequestHeaderSink _sink = new();

    public string Name => "h2headers";

    public void Run(ReadOnlySpan<byte> input)
    {
        if (Load(_sink, input, out bool trailers) && _sink.Malformed == RejectionReason.None)
        {
            CheckAccepted(trailers);
        }
    }

    /// <summary>Feeds one input (this target's format) to <paramref name="sink"/> and completes it; false for an empty input.</summary>
    internal static bool Load(Http2RequestHeaderSink sink, ReadOnlySpan<byte> input, out bool trailers)
    {
        trailers = false;
        if (input.IsEmpty)
        {
            return false;
        }

        trailers = (input[0] & 1) != 0;
        sink.Reset(trailers);
        var rest = input[1..];
        while (!rest.IsEmpty)
        {
            int nameLength = Math.Min(rest[0], rest.Length - 1);
            var name = rest.Slice(1, nameLength);
            rest = rest[(1 + nameLength)..];
            int valueLength = rest.IsEmpty ? 0 : Math.Min(rest[0], rest.Length - 1);
            var value = rest.IsEmpty ? default : rest.Slice(1, valueLength);
            rest = rest.IsEmpty ? default : rest[(1 + valueLength)..];
            sink.OnHeader(name, value);
        }

        sink.Complete();
        return true;
    }

    private void CheckAccepted(bool trailers)
    {
        for (int i = 0; i < _sink.FieldCount; i++)
        {
            _sink.GetField(i, out int ns, out int nl, out int vs, out int vl);
            var name = _sink.Bytes.Slice(ns, nl);
            var value = _sink.Bytes.Slice(vs, vl);
            if (name.IsEmpty || name[0] == (byte)':' || name.ContainsAnyInRange((byte)'A', (byte)'Z')
                || name.ContainsAnyInRange((byte)0, (byte)' ') || name.ContainsAnyInRange((byte)0x7F, (byte)0xFF))
            {
                Fail($"accepted field name {Convert.ToHexString(name)} (RFC 9113 §8.2.1)");
            }

            if (value.IndexOfAny((byte)0, (byte)'\r', (byte)'\n') >= 0
                || (!value.IsEmpty && (value[0] is (byte)' ' or (byte)'\t' || value[^1] is (byte)' ' or (byte)'\t')))
            {
                Fail($"accepted field value {Convert.ToHexString(value)} (RFC 9113 §8.2.1)");
            }
        }

        if (trailers)
        {
            return;
        }

        var method = _sink.Slice(_sink.Method);
        if (_sink.Method.Start < 0 || method.IsEmpty)
        {
            Fail("accepted a request without :method (RFC 9113 §8.3.1)");
        }

        if (method.SequenceEqual("CONNECT"u8))
        {
            return;
        }

        var path = _sink.Slice(_sink.PathAndQuery);
        if (_sink.Scheme.Start < 0 || _sink.PathAndQuery.Start < 0 || path.IsEmpty
            || !(path[0] == (byte)'/' || (path.Length == 1 && path[0] == (byte)'*' && method.SequenceEqual("OPTIONS"u8))))
        {
            Fail($"accepted :path {Convert.ToHexString(path)} (RFC 9113 §8.3.1)");
        }

        if (_sink.Authority.Start >= 0)
        {
            if (_sink.HostField < 0)
            {
                Fail(":authority accepted but not carried as host");
            }

            _sink.GetField(_sink.HostField, out _, out _, out int vs, out int vl);
            if (!_sink.Bytes.Slice(vs, vl).SequenceEqual(_sink.Slice(_sink.Authority)))
            {
                Fail("host differs from :authority (RFC 9113 §8.3.1)");
            }
        }
    }

    private void Fail(string what) => throw new FuzzFindingException($"Http2RequestHeaderSink {what}.");
}
