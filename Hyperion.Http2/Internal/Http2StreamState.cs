namespace Hyperion.Http2.Internal;

/// <summary>
/// The one record of a stream's history (RFC 9113 §5.1): who ended or reset it, and both flow-control windows.
/// The live <see cref="Http2Stream"/> and, once it is closed, <see cref="Http2ClosedStreams"/> hold the same
/// instance, so a late frame is judged the same way whether or not the route had already finished.
/// </summary>
internal sealed class Http2StreamState
{
    private int _flags;

    /// <summary>Our send window, grown by the client's WINDOW_UPDATEs; guarded by the connection's flow lock (a field, so it can be passed by ref).</summary>
    public long SendWindow;

    /// <summary>Our receive window: what the client may still send on the stream; changed with <see cref="Interlocked"/>.</summary>
    public long ReceiveWindow;

    public Http2StreamState(int id, long sendWindow, long receiveWindow, Http2StreamFlags flags)
    {
        Id = id;
        SendWindow = sendWindow;
        ReceiveWindow = receiveWindow;
        _flags = (int)flags;
    }

    public int Id { get; }

    public Http2StreamFlags Flags => (Http2StreamFlags)Volatile.Read(ref _flags);

    /// <summary>The client has ended its side (END_STREAM or RST_STREAM): more DATA or HEADERS from it is STREAM_CLOSED (§5.1).</summary>
    public bool EndedByPeer => (Flags & (Http2StreamFlags.EndStreamReceived | Http2StreamFlags.ResetReceived)) != 0;

    public bool Has(Http2StreamFlags flag) => (Flags & flag) == flag;

    /// <summary>Sets <paramref name="flag"/>; true when this call set it.</summary>
    public bool Set(Http2StreamFlags flag) => ((Http2StreamFlags)Interlocked.Or(ref _flags, (int)flag) & flag) != flag;

    /// <summary>Takes DATA's flow-controlled length from the receive window; false when the client sent more than it allows (§6.9.1).</summary>
    public bool TryTakeReceiveWindow(int length)
    {
        while (true)
        {
            long window = Interlocked.Read(ref ReceiveWindow);
            if (length > window)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref ReceiveWindow, window - length, window) == window)
            {
                return true;
            }
        }
    }
}
