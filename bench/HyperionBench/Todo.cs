namespace HyperionBench;

/// <summary>The /todos/{id} payload; the same shape as the Kestrel peer's.</summary>
internal sealed record Todo(int id, string title, bool done);
