using System.Text;
using BenchmarkDotNet.Attributes;
using Hyperion.Internal.Http1;
using Hyperion.Internal.Http;
using Hyperion.Internal.Infrastructure;

namespace Hyperion.Bench.Micro;

/// <summary>The response head writer, writing the heads the bench routes produce, into pipe memory.</summary>
[MemoryDiagnoser]
public class ResponseHeadWriterBenchmarks
{
    private static readonly byte[] ServerLine = Encoding.Latin1.GetBytes("Server: Hyperion\r\n");
    private readonly DateHeaderCache _date = new();
    private readonly ReusedBufferPipeWriter _output = new(4096);
    private readonly (string Name, string Value)[] _appHeaders =
    [
        ("Cache-Control", "no-store"),
        ("X-Request-Id", "0f8fad5b-d9cb-469f-a165-70867728950e"),
        ("Vary", "Accept-Encoding"),
    ];

    /// <summary>The dynamic-block /hello head: status, Content-Type, Content-Length, Server, Date.</summary>
    [Benchmark(Baseline = true)]
    public int TextHead()
    {
        _output.Reset();
        var w = new HeadWriter(_output, 512);
        w.Write(StatusLines.Get(200));
        w.WriteHeader("Content-Type: "u8, "text/plain");
        w.Write("Content-Length: "u8);
        w.WriteNumber(13);
        w.Write("\r\n"u8);
        w.Write(ServerLine);
        w.Write("Date: "u8);
        w.Write(_date.Current);
        w.Write("\r\n\r\n"u8);
        w.Commit();
        return _output.Written;
    }

    /// <summary>A Rack app head with three application headers written by name and value.</summary>
    [Benchmark]
    public int AppHeadThreeHeaders()
    {
        _output.Reset();
        var w = new HeadWriter(_output, 512);
        w.Write(StatusLines.Get(200));
        w.WriteHeader("Content-Type: "u8, "application/json; charset=utf-8");
        for (int i = 0; i < _appHeaders.Length; i++)
        {
            w.WriteHeader(_appHeaders[i].Name, _appHeaders[i].Value);
        }

        w.Write("Transfer-Encoding: chunked\r\n"u8);
        w.Write(ServerLine);
        w.Write("Date: "u8);
        w.Write(_date.Current);
        w.Write("\r\n\r\n"u8);
        w.Commit();
        return _output.Written;
    }
}
