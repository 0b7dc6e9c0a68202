namespace HyperionBench;

/// <summary>The /json row's payload; serialised per request, as an application would.</summary>
internal sealed record Message(string message);
