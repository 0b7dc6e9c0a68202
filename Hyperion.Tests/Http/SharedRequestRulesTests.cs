using System.Text;
using Hyperion;
using Hyperion.Internal.Http;
using Hyperion.Tests.Http2;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Http;

/// <summary>
/// One table of request cases run through both protocols: the same request must get the same
/// <see cref="RejectionReason"/> logged (or be served) over HTTP/1.1 and HTTP/2. A rule changed for one protocol
/// only fails here. HTTP/1.1 answers with the status and closes; HTTP/2 answers a malformed request (400) with
/// RST_STREAM PROTOCOL_ERROR (RFC 9113 §8.1.1) and a limit with its status on the stream.
/// </summary>
public sealed class SharedRequestRulesTests : IAsyncLifetime
{
    private const int LineLimit = 8 * 1024;

    private TestServer _server = null!;

    /// <summary>
    /// A request as both protocols carry it. <c>Hosts</c> are Host lines (HTTP/1.1) or host fields (HTTP/2);
    /// <c>Authority</c> is the absolute-form authority (HTTP/1.1) or <c>:authority</c> (HTTP/2).
    /// </summary>
    public sealed record Request(string Method, string Path, string[] Hosts, string? Authority, (string Name, string Value)[] Fields)
    {
        public static Request Get(string path = "/", params (string, string)[] fields) => new("GET", path, ["a"], null, fields);

        public static Request WithHosts(params string[] hosts) => new("GET", "/", hosts, null, []);

        public override string ToString() => $"{Method} {Path}";
    }

    private static (string, string)[] Many(int count) => [.. Enumerable.Range(0, count).Select(i => ($"x-{i}", "v"))];

    /// <summary>name → (request, status HTTP/1.1 answers, reason logged; null: served on both).</summary>
    public static readonly Dictionary<string, (Request Request, int Status, string? Reason)> Cases = new()
    {
        // field names and values (RFC 9110 §5.1, §5.5; RFC 9113 §8.2.1)
        ["name with ("] = (Request.Get("/", ("x(a", "b")), 400, nameof(RejectionReason.InvalidHeaderName)),
        ["name with quote"] = (Request.Get("/", ("x\"a", "b")), 400, nameof(RejectionReason.InvalidHeaderName)),
        ["name with @"] = (Request.Get("/", ("x@a", "b")), 400, nameof(RejectionReason.InvalidHeaderName)),
        ["name with slash"] = (Request.Get("/", ("x/a", "b")), 400, nameof(RejectionReason.InvalidHeaderName)),
        ["name with non-ASCII"] = (Request.Get("/", ("x\u00e9", "b")), 400, nameof(RejectionReason.InvalidHeaderName)),
        ["NUL in value"] = (Request.Get("/", ("x", "a\0b")), 400, nameof(RejectionReason.InvalidHeaderValue)),
        ["CR in value"] = (Request.Get("/", ("x", "a\rb")), 400, nameof(RejectionReason.InvalidHeaderValue)),
        ["0x01 in value"] = (Request.Get("/", ("x", "a\u0001b")), 400, nameof(RejectionReason.InvalidHeaderValue)),
        ["DEL in value"] = (Request.Get("/", ("x", "a\u007fb")), 400, nameof(RejectionReason.InvalidHeaderValue)),
        ["vertical tab in value"] = (Request.Get("/", ("x", "a\u000bb")), 400, nameof(RejectionReason.InvalidHeaderValue)),
        ["obs-text in value is served"] = (Request.Get("/", ("x", "caf\u00e9")), 200, null),
        ["underscore name is served"] = (Request.Get("/", ("x_a", "b")), 200, null),

        // request target (RFC 9112 §3.2.1, RFC 9113 §8.3.1 :path)
        ["bad percent escape"] = (Request.Get("/a%zz"), 400, nameof(RejectionReason.InvalidRequestTarget)),
        ["truncated percent escape"] = (Request.Get("/a%4"), 400, nameof(RejectionReason.InvalidRequestTarget)),
        ["escape decoding to NUL"] = (Request.Get("/a%00b"), 400, nameof(RejectionReason.InvalidRequestTarget)),
        ["escape decoding to CR"] = (Request.Get("/a%0db"), 400, nameof(RejectionReason.InvalidRequestTarget)),
        ["escape decoding to LF"] = (Request.Get("/a%0Ab"), 400, nameof(RejectionReason.InvalidRequestTarget)),
        ["escape decoding to NUL in the query"] = (Request.Get("/a?x=%00"), 400, nameof(RejectionReason.InvalidRequestTarget)),
        ["backslash in the path"] = (Request.Get("/a\\b"), 400, nameof(RejectionReason.InvalidRequestTarget)),
        ["encoded backslash is served"] = (Request.Get("/a%5Cb"), 200, null),
        ["backslash in the query is served"] = (Request.Get("/a?x=\\"), 200, null),
        ["escape decoding to TAB is served"] = (Request.Get("/a%09b"), 200, null),
        ["fragment"] = (Request.Get("/a#b"), 400, nameof(RejectionReason.InvalidRequestTarget)),
        ["non-ASCII in the target"] = (Request.Get("/caf\u00e9"), 400, nameof(RejectionReason.InvalidRequestTarget)),
        ["target without slash"] = (Request.Get("a"), 400, nameof(RejectionReason.InvalidRequestTarget)),
        ["asterisk outside OPTIONS"] = (Request.Get("*"), 400, nameof(RejectionReason.InvalidRequestTarget)),
        ["method with @"] = (new Request("G@T", "/", ["a"], null, []), 400, nameof(RejectionReason.InvalidMethod)),

        // Host and authority (RFC 9110 §7.2, RFC 9112 §3.2, RFC 9113 §8.3.1)
        ["duplicate host"] = (Request.WithHosts("a", "a"), 400, nameof(RejectionReason.DuplicateHost)),
        ["duplicate host, different"] = (Request.WithHosts("a", "b"), 400, nameof(RejectionReason.DuplicateHost)),
        ["host with space"] = (Request.WithHosts("a b"), 400, nameof(RejectionReason.InvalidHost)),
        ["host with userinfo"] = (Request.WithHosts("u@a"), 400, nameof(RejectionReason.InvalidHost)),
        ["host port too big"] = (Request.WithHosts("a:70000"), 400, nameof(RejectionReason.InvalidHost)),
        ["host unbalanced bracket"] = (Request.WithHosts("[::1"), 400, nameof(RejectionReason.InvalidHost)),
        ["host bad percent escape"] = (Request.WithHosts("a%zz"), 400, nameof(RejectionReason.InvalidHost)),
        ["host IPv6 literal is served"] = (Request.WithHosts("[::1]:8080"), 200, null),
        ["authority differs from host"] = (new Request("GET", "/", ["b"], "a", []), 400, nameof(RejectionReason.InvalidHost)),
        ["authority matches host in another case"] = (new Request("GET", "/", ["a.example"], "A.Example", []), 200, null),

        // Content-Length (RFC 9110 §8.6, RFC 9112 §6.3)
        ["CL leading zeros"] = (Request.Get("/", ("content-length", "00")), 400, nameof(RejectionReason.InvalidContentLength)),
        ["CL leading zero"] = (Request.Get("/", ("content-length", "05")), 400, nameof(RejectionReason.InvalidContentLength)),
        ["CL sign"] = (Request.Get("/", ("content-length", "+0")), 400, nameof(RejectionReason.InvalidContentLength)),
        ["CL list"] = (Request.Get("/", ("content-length", "0,0")), 400, nameof(RejectionReason.InvalidContentLength)),
        ["CL empty"] = (Request.Get("/", ("content-length", "")), 400, nameof(RejectionReason.InvalidContentLength)),
        ["CL duplicate same"] = (Request.Get("/", ("content-length", "0"), ("content-length", "0")), 400, nameof(RejectionReason.DuplicateContentLength)),
        ["CL zero is served"] = (Request.Get("/", ("content-length", "0")), 200, null),

        // limits (MaxRequestHeaderCount, MaxRequestHeadersTotalSize, MaxRequestLineSize), Host counted as a field
        ["100 fields with Host are served"] = (Request.Get("/", Many(99)), 200, null),
        ["101 fields with Host"] = (Request.Get("/", Many(100)), 431, nameof(RejectionReason.TooManyHeaders)),
        ["header section too large"] = (Request.Get("/", ("x", new string('a', 33 * 1024))), 431, nameof(RejectionReason.HeadersTooLarge)),
        ["request line one under the limit is served"] = (Request.Get("/" + new string('a', LineLimit - 15)), 200, null),
        ["request line at the limit"] = (Request.Get("/" + new string('a', LineLimit - 14)), 414, nameof(RejectionReason.RequestLineTooLong)),
        ["target too long"] = (Request.Get("/" + new string('a', 9000)), 414, nameof(RejectionReason.RequestLineTooLong)),
        ["method too long"] = (new Request(new string('M', 9000), "/", ["a"], null, []), 501, nameof(RejectionReason.MethodNotImplemented)),
    };

    public static TheoryData<string> Names() => [.. Cases.Keys];

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(s =>
        {
            s.UseHttp2(new Http2Options { MaxFrameSize = 64 * 1024 });
            s.Run(_ => new ValueTask<RackResponse>(RackResponse.Text(200, "ok")));
        });
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public void The_line_limit_in_the_table_is_the_default() => new HyperionOptions().MaxRequestLineSize.Should().Be(LineLimit);

    [Theory]
    [MemberData(nameof(Names))]
    public async Task Both_protocols_apply_the_same_rule(string name)
    {
        var (request, status, reason) = Cases[name];
        string? h1 = await RunHttp1Async(request, status, name);
        string? h2 = await RunHttp2Async(request, status, name);
        h1.Should().Be(reason, $"{name}: the reason HTTP/1.1 logged");
        h2.Should().Be(reason, $"{name}: the reason HTTP/2 logged");
    }

    private async Task<string?> RunHttp1Async(Request r, int status, string name)
    {
        int before = RejectionLines().Count;
        string target = r.Authority is null ? r.Path : $"http://{r.Authority}{r.Path}";
        var head = new StringBuilder($"{r.Method} {target} HTTP/1.1\r\n");
        foreach (var host in r.Hosts)
        {
            head.Append("Host: ").Append(host).Append("\r\n");
        }

        foreach (var (n, v) in r.Fields)
        {
            head.Append(n).Append(": ").Append(v).Append("\r\n");
        }

        using var c = await _server.ConnectAsync();
        await c.SendAsync(head.Append("\r\n").ToString());
        var response = await c.ReadResponseAsync();
        response.Status.Should().Be(status, $"{name} over HTTP/1.1");
        return NewReason(before, name);
    }

    private async Task<string?> RunHttp2Async(Request r, int status, string name)
    {
        int before = RejectionLines().Count;
        var fields = new List<(string, string)> { (":method", r.Method), (":scheme", "http"), (":path", r.Path) };
        if (r.Authority is not null)
        {
            fields.Add((":authority", r.Authority));
        }

        fields.AddRange(r.Hosts.Select(h => ("host", h)));
        fields.AddRange(r.Fields);

        await using var c = await H2RawClient.ConnectAsync(_server.Port);
        await c.SendHeadersAsync(1, true, [.. fields]);
        if (status == 400)
        {
            var rst = await c.ExpectRstAsync(1);
            rst.Type.Should().Be(H2.RstStream, $"{name} over HTTP/2: a stream error, got {rst}");
            rst.ErrorCode.Should().Be(H2.ProtocolError, name);
        }
        else
        {
            (await c.ReadResponseAsync(1)).Status.Should().Be(status, $"{name} over HTTP/2");
        }

        // The log line is written before the stream's answer goes out; an answer on stream 3 proves the connection lives on.
        await c.SendHeadersAsync(3, true, H2.Get("/"));
        (await c.ReadResponseAsync(3)).Status.Should().Be(200, $"{name}: the HTTP/2 connection lives on");
        return NewReason(before, name);
    }

    private List<CapturingLoggerProvider.LogLine> RejectionLines() => [.. _server.Logs.Lines.Where(l => l.EventId.Name == "RequestRejected")];

    private string? NewReason(int before, string name)
    {
        var lines = RejectionLines().Skip(before).ToList();
        lines.Count.Should().BeLessThanOrEqualTo(1, $"{name}: one log line per rejection");
        if (lines.Count == 0)
        {
            return null;
        }

        // "...: {Reason}, answered {Status}" (HTTP/1.1, HTTP/2 limits) or "...: {Reason}, answered RST_STREAM {ErrorCode}"
        string message = lines[0].Message;
        int colon = message.LastIndexOf("): ", StringComparison.Ordinal);
        int comma = message.IndexOf(',', colon);
        return message[(colon + 3)..comma];
    }
}
