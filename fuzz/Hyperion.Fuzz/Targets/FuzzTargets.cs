namespace Hyperion.Fuzz.Targets;

/// <summary>The targets by name, as <c>fuzz/run.sh TARGET</c> and the regression tests select them.</summary>
internal static class FuzzTargets
{
    public static readonly string[] Names = ["http1", "hpack", "h2frames", "h2headers"];

    public static IFuzzTarget Create(string name) => name switch
    {
        "http1" => new Http1Target(),
        "hpack" => new HpackTarget(),
        "h2frames" => new Http2FramesTarget(),
        "h2headers" => new Http2HeadersTarget(),
        _ => throw new ArgumentException($"Unknown fuzz target '{name}'; known: {string.Join(", ", Names)}.", nameof(name)),
    };
}
