using System.Text.Json.Serialization;

namespace HyperionBench;

/// <summary>Source-generated metadata, as the Kestrel peer uses: the row measures serialising, not reflection.</summary>
[JsonSerializable(typeof(Message))]
[JsonSerializable(typeof(Todo))]
internal sealed partial class BenchJsonContext : JsonSerializerContext;
