using System.Text;
using Hyperion.Internal.Http;
using Hyperion.Fuzz.Targets;
using Hyperion.Http2.Internal;
using Hyperion.Internal.Http1;

namespace Hyperion.Fuzz;

/// <summary>
/// <c>dotnet Hyperion.Fuzz.dll drift DIR</c>: takes h2headers inputs (a corpus or an afl-fuzz queue) and random one-octet
/// mutations of them (seeded, so a run repeats) and, for every request the HTTP/2 sink accepts, writes the same request
/// as HTTP/1.1 and asks Http1Parser. Prints each kind of
/// disagreement once with an example: where the two protocols' request rules have drifted apart (issue 10 item 7).
/// A report, not a target: today the two are known to differ, and which side is right is a decision, not a crash.
/// </summary>
internal static class Drift
{
    public static int Run(string directory)
    {
        var sink = new Http2RequestHeaderSink();
        var options = new HyperionOptions();
        var env = new RackEnv();
        var seen = new SortedDictionary<string, (int Count, string Example)>(StringComparer.Ordinal);
        int accepted = 0;
        var seeds = Directory.GetFiles(directory).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).Where(b => b.Length > 1).ToArray();
        var random = new Random(10);
        for (int n = 0; n < 200_000; n++)
        {
            byte[] input = (byte[])seeds[n % seeds.Length].Clone();
            if (n >= seeds.Length)
            {
                // Mutate octets after the first field's length octets, mostly into printable ASCII.
                int at = 1 + random.Next(input.Length - 1);
                input[at] = random.Next(4) == 0 ? (byte)random.Next(256) : (byte)random.Next(0x20, 0x7F);
            }

            if (!Http2HeadersTarget.Load(sink, input, out bool trailers) || trailers || sink.Malformed != RejectionReason.None
                || sink.Slice(sink.Method).SequenceEqual("CONNECT"u8))
            {
                continue;
            }

            accepted++;
            byte[] request = AsHttp1(sink);
            var head = default(RequestHead);
            var status = Http1Parser.TryParse(request, options, env, ref head, out _, out var reason);
            if (status != ParseStatus.Complete)
            {
                string key = status == ParseStatus.Error ? reason.ToString() : "Incomplete";
                seen[key] = seen.TryGetValue(key, out var s) ? (s.Count + 1, s.Example) : (1, Encoding.Latin1.GetString(request));
            }
        }

        Console.WriteLine($"{accepted} requests accepted by HTTP/2; HTTP/1.1 rejects these kinds:");
        foreach (var (key, (count, example)) in seen)
        {
            Console.WriteLine($"  {key} ({count}): {Escape(example)}");
        }

        return 0;
    }

    private static byte[] AsHttp1(Http2RequestHeaderSink sink)
    {
        var b = new List<byte>();
        b.AddRange(sink.Slice(sink.Method));
        b.Add((byte)' ');
        b.AddRange(sink.Slice(sink.PathAndQuery));
        b.AddRange(" HTTP/1.1\r\n"u8);
        for (int i = 0; i < sink.FieldCount; i++)
        {
            sink.GetField(i, out int ns, out int nl, out int vs, out int vl);
            b.AddRange(sink.Bytes.Slice(ns, nl));
            b.AddRange(": "u8);
            b.AddRange(sink.Bytes.Slice(vs, vl));
            b.AddRange("\r\n"u8);
        }

        if (sink.HostField < 0)
        {
            // HTTP/2 allows a request with neither :authority nor host (RFC 9113 §8.3.1); HTTP/1.1 requires Host.
            b.AddRange("host: \r\n"u8);
        }

        b.AddRange("\r\n"u8);
        return [.. b];
    }

    private static string Escape(string s)
    {
        var sb = new StringBuilder();
        foreach (char c in s.Length > 200 ? s[..200] : s)
        {
            sb.Append(c is >= ' ' and < (char)0x7F ? c.ToString() : $"\\x{(int)c:X2}");
        }

        return sb.ToString();
    }
}
