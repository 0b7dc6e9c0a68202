using Hyperion;

namespace GrpcInterop;

/// <summary>
/// The interop server's command line: grpc's interop flags (<c>--port</c>, <c>--use_tls</c>, in the <c>--flag=value</c>
/// form its scripts pass or as separate words) on top of the samples' shared ones (<c>--tls-cert</c>, <c>--tls-key</c>,
/// <c>--protocols</c>), with HTTP/2 alone on the port unless <c>--protocols</c> says otherwise.
/// </summary>
internal static class InteropArguments
{
    public static HyperionOptions? Parse(string[] args)
    {
        var words = new List<string>();
        bool? useTls = null;
        bool protocolsGiven = false;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string? inlineValue = null;
            int eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                inlineValue = arg[(eq + 1)..];
                arg = arg[..eq];
            }

            if (arg == "--use_tls")
            {
                // A bare --use_tls means true; --use_tls=false (or a following "false") turns it off.
                string? value = inlineValue ?? (i + 1 < args.Length && args[i + 1] is "true" or "false" ? args[++i] : null);
                if (value is not (null or "true" or "false"))
                {
                    Console.Error.WriteLine($"--use_tls takes true or false, not '{value}'");
                    return null;
                }

                useTls = value != "false";
                continue;
            }

            protocolsGiven |= arg == "--protocols";
            words.Add(arg);
            if (inlineValue is not null)
            {
                words.Add(inlineValue);
            }
        }

        bool hasCert = words.Contains("--tls-cert") || words.Contains("--tls-key");
        if (useTls == true && !hasCert)
        {
            Console.Error.WriteLine("--use_tls needs --tls-cert FILE and --tls-key FILE (PEM)");
            return null;
        }

        if (useTls == false && hasCert)
        {
            Console.Error.WriteLine("--use_tls=false contradicts --tls-cert/--tls-key");
            return null;
        }

        if (SampleOptions.Parse([.. words]) is not { } options)
        {
            return null;
        }

        if (!protocolsGiven)
        {
            options.Protocols = HttpProtocols.Http2;
        }

        return options;
    }
}
