using System.Text.Json.Serialization;

namespace TodoSample;

/// <summary>One to-do item as the API sends it.</summary>
public sealed record Todo(int Id, string Title, bool Done);

/// <summary>What a client sends to create or change an item; absent fields keep their value on PATCH.</summary>
public sealed record TodoInput(string? Title, bool? Done);

/// <summary>Source-generated JSON metadata: no reflection, safe to trim and to publish AOT.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Todo))]
[JsonSerializable(typeof(TodoInput))]
[JsonSerializable(typeof(List<Todo>))]
public sealed partial class TodoJson : JsonSerializerContext;
