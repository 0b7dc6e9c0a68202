namespace Hyperion.Http2.Hpack;

/// <summary>One predefined (name, value) pair of the HPACK static table, read-only.</summary>
internal readonly struct HpackStaticEntry(byte[] name, byte[] value)
{
    private readonly byte[] _name = name;
    private readonly byte[] _value = value;

    public ReadOnlySpan<byte> Name => _name;

    public ReadOnlySpan<byte> Value => _value;
}
