using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Hyperion.Http2.Hpack;

namespace Hyperion.Tests.Http2.Hpack;

/// <summary>
/// Interop with the Python <c>hpack</c> package (the one python3-h2 uses): its blocks decode with our decoder, ours
/// decode with its decoder, over many blocks on one connection with table size changes.
/// </summary>
public class HpackInteropTests
{
    private const string Script = """
        import json, sys
        import hpack

        job = json.load(sys.stdin)
        out = {"decoded": [], "encoded": []}

        decoder = hpack.Decoder(max_header_list_size=1 << 20)
        decoder.max_allowed_table_size = job["our_max"]
        for block in job["blocks"]:
            fields = decoder.decode(bytes.fromhex(block), raw=True)
            out["decoded"].append([[n.decode("latin-1"), v.decode("latin-1")] for n, v in fields])

        encoder = hpack.Encoder()
        for step in job["lists"]:
            if step["table_size"] is not None:
                encoder.header_table_size = step["table_size"]
            fields = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in step["fields"]]
            out["encoded"].append(encoder.encode(fields, huffman=step["huffman"]).hex())

        json.dump(out, sys.stdout)
        """;

    [RequiresSystemPythonFact]
    public void Python_hpack_and_ours_understand_each_other()
    {
        var random = new Random(7540);
        string[] names = ["content-type", "server", "date", "x-id", "cache-control", "vary", "set-cookie", "user-agent", "accept", ":path", "x-custom-header"];
        string[] values = ["text/plain", "hyperion", "gzip, deflate", "", "private", "no-cache", "a=b; Path=/", "/index.html", "*/*"];
        var lists = new List<(int? TableSize, bool Huffman, List<(string Name, string Value)> Fields)>();
        for (int i = 0; i < 200; i++)
        {
            var fields = new List<(string, string)>();
            for (int f = random.Next(1, 12); f > 0; f--)
            {
                string value = random.Next(4) == 0
                    ? new string((char)random.Next(0x20, 0x7F), random.Next(0, 300))
                    : values[random.Next(values.Length)];
                fields.Add((names[random.Next(names.Length)], value));
            }

            int? size = random.Next(15) == 0 ? random.Next(3) switch { 0 => 0, 1 => random.Next(0, 512), _ => random.Next(512, 4097) } : null;
            lists.Add((size, random.Next(2) == 0, fields));
        }

        // Ours → Python.
        var encoder = new HpackEncoder(maxDynamicTableSize: 4096);
        var ourBlocks = new List<string>();
        foreach (var (size, huffman, fields) in lists)
        {
            if (size is int s)
            {
                encoder.SetPeerMaxTableSize(s);
            }

            encoder.UseHuffman = huffman;
            var output = new ArrayBufferWriter<byte>();
            encoder.BeginBlock(output);
            foreach (var (name, value) in fields)
            {
                encoder.EncodeHeader(output, name, value);
            }

            ourBlocks.Add(Hpack.ToHex(output.WrittenSpan));
        }

        var job = new
        {
            our_max = 4096,
            blocks = ourBlocks,
            lists = lists.Select(l => new { table_size = l.TableSize, huffman = l.Huffman, fields = l.Fields.Select(f => new[] { f.Name, f.Value }) }),
        };
        using var result = RunPython(JsonSerializer.Serialize(job));

        var decodedByPython = result.RootElement.GetProperty("decoded");
        for (int i = 0; i < lists.Count; i++)
        {
            var got = decodedByPython[i].EnumerateArray().Select(f => (f[0].GetString()!, f[1].GetString()!)).ToList();
            got.Should().Equal(lists[i].Fields, $"Python decoding our block {i}");
        }

        // Python → ours.
        var decoder = new HpackDecoder(maxDynamicTableSize: 4096, maxHeaderListSize: 1 << 20);
        var encodedByPython = result.RootElement.GetProperty("encoded");
        for (int i = 0; i < lists.Count; i++)
        {
            Hpack.Decode(decoder, Hpack.Hex(encodedByPython[i].GetString()!)).Should().Equal(lists[i].Fields, $"decoding Python's block {i}");
        }
    }

    private static JsonDocument RunPython(string input)
    {
        var start = new ProcessStartInfo(RequiresSystemPythonFactAttribute.Path, ["-c", Script])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            process.StandardInput.Write(input);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // python3 exited early; its stderr below says why.
        }

        if (!process.WaitForExit(60_000))
        {
            process.Kill();
            throw new TimeoutException("python3 with hpack did not finish in 60 s");
        }

        process.ExitCode.Should().Be(0, $"{RequiresSystemPythonFactAttribute.Path} failed: {stderr.Result}");
        return JsonDocument.Parse(stdout.Result);
    }
}
