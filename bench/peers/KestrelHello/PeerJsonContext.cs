using System.Text.Json.Serialization;

namespace KestrelHello;

/// <summary>Source-generated JSON metadata, as a trimmed minimal API would use.</summary>
[JsonSerializable(typeof(Message))]
internal sealed partial class PeerJsonContext : JsonSerializerContext;
