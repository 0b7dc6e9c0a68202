namespace Hyperion.Bench;

/// <summary>The CORS settings both bench servers use on their middleware port, so the row compares the same work.</summary>
internal static class BenchCors
{
    /// <summary>The one allowed origin; run.sh's middleware row sends it on every request.</summary>
    public const string Origin = "https://app.example";
}
