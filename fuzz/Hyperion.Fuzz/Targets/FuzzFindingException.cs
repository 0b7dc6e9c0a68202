namespace Hyperion.Fuzz.Targets;

/// <summary>A broken invariant, or a bug-shaped exception the product caught and only logged.</summary>
internal sealed class FuzzFindingException : Exception
{
    public FuzzFindingException(string message)
        : base(message)
    {
    }

    public FuzzFindingException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
