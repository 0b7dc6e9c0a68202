namespace Hyperion.Http2.Hpack;

/// <summary>One predefined (name, value) pair of the HPACK static table.</summary>
internal readonly record struct HpackStaticEntry(byte[] Name, byte[] Value)
{
    /// <summary>Entry size as the dynamic table counts it (RFC 7541 §4.1).</summary>
    public int Size => Name.Length + Value.Length + HpackDynamicTable.EntryOverhead;
}
