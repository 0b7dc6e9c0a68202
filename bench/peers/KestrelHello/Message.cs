namespace KestrelHello;

/// <summary>The /json payload; the same shape as bench/HyperionBench's.</summary>
internal sealed record Message(string message);
