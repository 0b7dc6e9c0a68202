using System.Text;
using BenchmarkDotNet.Attributes;
using Hyperion.Internal.Http1;

namespace Hyperion.Bench.Micro;

/// <summary>The HTTP/1.1 head parser as the connection runs it: <c>Http1Parser.TryParse</c>, then the env keeps the head.</summary>
[MemoryDiagnoser]
public class RequestParserBenchmarks
{
    // What wrk sends.
    private static readonly byte[] Minimal = Encoding.ASCII.GetBytes("GET /hello HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");

    // A browser-like head: ten fields, a query string, a cookie.
    private static readonly byte[] Browser = Encoding.ASCII.GetBytes(
        "GET /products/list?page=2&sort=price HTTP/1.1\r\n" +
        "Host: shop.example.com\r\n" +
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
        "Accept-Language: en-US,en;q=0.5\r\n" +
        "Accept-Encoding: gzip, deflate, br\r\n" +
        "Referer: https://shop.example.com/\r\n" +
        "Connection: keep-alive\r\n" +
        "Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark\r\n" +
        "Upgrade-Insecure-Requests: 1\r\n" +
        "Cache-Control: max-age=0\r\n\r\n");

    // Sixteen minimal requests in one buffer, as the pipelined bench row delivers them.
    private static readonly byte[] Pipelined16 = [.. Enumerable.Range(0, 16).SelectMany(_ => Minimal)];

    private readonly HyperionOptions _options = new();
    private readonly RackEnv _env = new();
    private RequestHead _head;

    [Benchmark(Baseline = true)]
    public int ParseMinimal() => Parse(Minimal);

    [Benchmark]
    public int ParseBrowser() => Parse(Browser);

    [Benchmark(OperationsPerInvoke = 16)]
    public int ParsePipelined16()
    {
        ReadOnlySpan<byte> data = Pipelined16;
        int total = 0;
        while (!data.IsEmpty)
        {
            int consumed = ParseOne(data);
            data = data[consumed..];
            total += consumed;
        }

        return total;
    }

    private int Parse(byte[] request) => ParseOne(request);

    private int ParseOne(ReadOnlySpan<byte> data)
    {
        var status = Http1Parser.TryParse(data, _options, _env, ref _head, out int consumed, out var reason);
        if (status != ParseStatus.Complete)
        {
            throw new InvalidOperationException($"parse failed: {status} {reason}");
        }

        _env.CopyHead(data[..consumed]);
        return consumed;
    }
}
