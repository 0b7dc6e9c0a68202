namespace Hyperion.Http2.Internal;

/// <summary>
/// The states of the most recently closed streams, so a late frame gets the answer the stream's history calls for
/// (RFC 9113 §5.1). Bounded: past <see cref="Capacity"/> the stream closed longest ago is forgotten, and a forgotten
/// id is judged like a skipped one (closed, history unknown). No clock: §5.1 says not to use timers for this.
/// Guarded by the connection's streams lock.
/// </summary>
internal sealed class Http2ClosedStreams
{
    private readonly Dictionary<int, Http2StreamState> _states = [];
    private readonly Queue<int> _order = new();

    public Http2ClosedStreams(int capacity) => Capacity = capacity;

    /// <summary>At least twice the concurrent stream limit: frames in flight when a stream closed arrive within about a round trip, before that many more streams can close.</summary>
    public static int CapacityFor(int maxConcurrentStreams) => (int)Math.Clamp(2L * maxConcurrentStreams, 256, 4096);

    public int Capacity { get; }

    public int Count => _states.Count;

    public IEnumerable<Http2StreamState> States => _states.Values;

    public void Add(Http2StreamState state)
    {
        if (!_states.TryAdd(state.Id, state))
        {
            return;
        }

        _order.Enqueue(state.Id);
        if (_order.Count > Capacity)
        {
            _states.Remove(_order.Dequeue());
        }
    }

    public Http2StreamState? Find(int id) => _states.GetValueOrDefault(id);
}
