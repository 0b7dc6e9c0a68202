namespace Hyperion.Fuzz.Targets;

/// <summary>
/// One fuzz target: consumes an arbitrary input. Exceptions the product is designed to raise for bad input are
/// caught inside <see cref="Run"/>; anything that escapes is a finding (AFL records it as a crash).
/// </summary>
internal interface IFuzzTarget
{
    string Name { get; }

    void Run(ReadOnlySpan<byte> input);
}
