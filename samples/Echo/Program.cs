using System.Text;
using Hyperion;

// samples/Echo: a conformance target. It shows what the server received, so HTTP clients and
// conformance suites can check parsing, body decoding and header order from the outside.
// --port N (default 9292); --tls-cert FILE --tls-key FILE (PEM) serve HTTPS instead of cleartext on that port;
// --protocols http1|http2|both (default both): http2 is an HTTP/2-only port (h2c by prior knowledge, or h2 alone in ALPN).
if (SampleOptions.Parse(args) is not { } options)
{
    return 2;
}

var server = new HyperionServer(options);

// HTTP/2 besides HTTP/1.1 (unless --protocols says otherwise): h2c (prior knowledge or Upgrade) in cleartext, h2 through ALPN with TLS.
server.UseHttp2();

// GET / answers "OK"; the static GET registration also answers HEAD with the same headers and no body.
server.HandleStatic("GET", "/", "OK", contentType: "text/plain");
server.HandleStatic("OPTIONS", "/", "", contentType: "text/plain", headers: [("Allow", "GET, HEAD, POST, OPTIONS")]);
server.HandleStatic("OPTIONS", "*", "", contentType: "text/plain");

// POST / echoes the decoded body (chunked or fixed length) byte for byte.
server.Handle("POST", "/", async env =>
{
    var body = new MemoryStream();
    await env.Body.CopyToAsync(body);
    return RackResponse.Bytes(200, body.ToArray(), env.ContentType ?? "application/octet-stream");
});

// /echo lists every received field line in arrival order, names as the client spelled them.
RackResponse EchoHeaders(RackEnv env)
{
    var text = new StringBuilder();
    foreach (var (name, value) in env.Headers)
    {
        text.Append(name).Append(": ").Append(value).Append('\n');
    }

    return RackResponse.Text(200, text.ToString(), "text/plain");
}

server.Handle("GET", "/echo", EchoHeaders);
server.Handle("POST", "/echo", EchoHeaders);

// /cookie lists each cookie pair of every Cookie field (RFC 6265 §5.4: pairs separated by "; ").
RackResponse EchoCookies(RackEnv env)
{
    var text = new StringBuilder();
    foreach (string field in env.Headers.GetValues("Cookie"))
    {
        foreach (string pair in field.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            text.Append(pair).Append('\n');
        }
    }

    return RackResponse.Text(200, text.ToString(), "text/plain");
}

server.Handle("GET", "/cookie", EchoCookies);
server.Handle("POST", "/cookie", EchoCookies);

// No app: any other path is 404, and another method on a known path is 405 with Allow.
await server.StartAsync();
Console.WriteLine($"Hyperion Echo listening on {server.BaseAddress}; Ctrl+C stops");
if (options.Protocols == HttpProtocols.Http2)
{
    Console.WriteLine($"HTTP/2 only: try {(server.BaseAddress.Scheme == "https" ? "curl -k --http2" : "curl --http2-prior-knowledge")} {server.BaseAddress}");
}

await server.RunAsync();
return 0;
