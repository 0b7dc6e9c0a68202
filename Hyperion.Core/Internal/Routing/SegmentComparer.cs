namespace Hyperion.Internal.Routing;

/// <summary>
/// Compares literal segments (ASCII strings) with raw path bytes, so the template trie looks a segment up
/// straight from the request's bytes, without decoding it to a string.
/// </summary>
internal sealed class SegmentComparer : IEqualityComparer<string>, IAlternateEqualityComparer<ReadOnlySpan<byte>, string>
{
    public static readonly SegmentComparer Instance = new();

    public bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.Ordinal);

    public int GetHashCode(string obj)
    {
        // Literals are checked to be ASCII at registration, so each char is the byte the path carries.
        uint hash = 2166136261;
        foreach (char c in obj)
        {
            hash = (hash ^ c) * 16777619;
        }

        return (int)hash;
    }

    public bool Equals(ReadOnlySpan<byte> alternate, string other)
    {
        if (alternate.Length != other.Length)
        {
            return false;
        }

        for (int i = 0; i < alternate.Length; i++)
        {
            if (alternate[i] != other[i])
            {
                return false;
            }
        }

        return true;
    }

    public int GetHashCode(ReadOnlySpan<byte> alternate)
    {
        uint hash = 2166136261;
        foreach (byte b in alternate)
        {
            hash = (hash ^ b) * 16777619;
        }

        return (int)hash;
    }

    public string Create(ReadOnlySpan<byte> alternate) => System.Text.Encoding.Latin1.GetString(alternate);
}
