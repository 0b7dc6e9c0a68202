using System.Text.Json.Serialization;

namespace KestrelHello;

/// <summary>Source-generated JSON metadata, as a trimmed minimal API would use.</summary>
[JsonSerializable(typeof(Message))]
[JsonSerializable(typeof(Todo))]
internal sealed partial class PeerJsonContext : JsonSerializerContext;
