namespace KestrelHello;

/// <summary>The /todos/{id} payload; the same shape as bench/HyperionBench's.</summary>
internal sealed record Todo(int id, string title, bool done);
