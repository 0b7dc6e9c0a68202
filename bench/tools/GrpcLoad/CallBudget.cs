namespace GrpcLoad;

/// <summary>A shared count of calls still to start when a run is bounded by calls rather than time.</summary>
internal sealed class CallBudget(long limit)
{
    private readonly bool _bounded = limit > 0;
    private long _left = limit;

    public bool TryTake() => !_bounded || Interlocked.Decrement(ref _left) >= 0;
}
