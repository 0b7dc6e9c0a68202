using System.Globalization;
using Hyperion;

/// <summary>
/// The command line both samples share: <c>--port N</c> (default 9292; 0 picks a free port),
/// <c>--tls-cert FILE --tls-key FILE</c> (PEM) to serve HTTPS instead of cleartext on that port, and
/// <c>--protocols http1|http2|both</c> for what the listener speaks (default both).
/// </summary>
internal static class SampleOptions
{
    /// <summary>The options the arguments ask for, or null (with the reason on stderr) when they do not make sense.</summary>
    public static HyperionOptions? Parse(string[] args)
    {
        int port = 9292;
        string? tlsCert = null;
        string? tlsKey = null;
        HttpProtocols? protocols = null;
        for (int i = 0; i < args.Length - 1; i++)
        {
            switch (args[i])
            {
                case "--port":
                    port = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
                    break;
                case "--tls-cert":
                    tlsCert = args[i + 1];
                    break;
                case "--tls-key":
                    tlsKey = args[i + 1];
                    break;
                case "--protocols":
                    protocols = args[i + 1] switch
                    {
                        "http1" => HttpProtocols.Http1,
                        "http2" => HttpProtocols.Http2,
                        "both" => HttpProtocols.Http1AndHttp2,
                        _ => null,
                    };
                    if (protocols is null)
                    {
                        Console.Error.WriteLine($"--protocols takes http1, http2 or both, not '{args[i + 1]}'");
                        return null;
                    }

                    break;
            }
        }

        var options = new HyperionOptions { Port = port };
        if (protocols is { } p)
        {
            options.Protocols = p;
        }

        if (tlsCert is not null || tlsKey is not null)
        {
            if (tlsCert is null || tlsKey is null)
            {
                Console.Error.WriteLine("--tls-cert and --tls-key go together");
                return null;
            }

            options.UseTls(tlsCert, tlsKey);
        }

        return options;
    }
}
