using System.Buffers;
using System.Buffers.Binary;
using Hyperion.Http2.Hpack;
using Hyperion.Internal.Timeouts;

namespace Hyperion.Http2.Internal;

/// <summary>
/// Sending: one write gate serialises frames (and the HPACK encoder, whose state follows wire order);
/// control frames from the read loop queue up and go out with the next write or the batch flush.
/// Send-side flow control (RFC 9113 §6.9) hands out window to streams and parks them when it is shut.
/// </summary>
internal sealed partial class Http2Connection
{
    private static readonly byte[] ShutdownPingPayload = "h2-stop!"u8.ToArray();

    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly Lock _controlLock = new();
    private readonly ArrayBufferWriter<byte> _control = new(256);
    private readonly ArrayBufferWriter<byte> _headerScratch = new(512);
    private readonly HpackEncoder _encoder;
    private readonly Lock _flowLock = new();
    private readonly List<Http2Stream> _connectionWindowWaiters = [];
    private long _connectionSendWindow = 65535;
    private long _connectionWindowUpdateCredit;
    private long _closedStreamWindowUpdateCredit;
    private int _pendingEncoderTableSize = -1;
    private bool _outputCompleted;
    private int _flushesWaiting; // FlushAsync callers not yet holding the gate

    // Bytes written under the gate since the last transport flush; the read loop compares it with MaxUnflushedResponseBytes.
    private long _unflushedOutput;
    private volatile int _batchThread;

    internal HpackEncoder Encoder => _encoder;

    internal ArrayBufferWriter<byte> HeaderScratch => _headerScratch;

    /// <summary>True when the caller runs inline in the read loop's batch, whose end flushes for it.</summary>
    internal bool InReadBatch => _batchThread == Environment.CurrentManagedThreadId;

    private void WriteServerPreface()
    {
        // RFC 9113 §3.4: the server preface is a SETTINGS frame, first thing on the connection.
        Span<byte> settings = stackalloc byte[6 * 5];
        int n = 0;
        n += WriteSetting(settings[n..], Http2SettingId.MaxConcurrentStreams, (uint)_options.MaxConcurrentStreams);
        n += WriteSetting(settings[n..], Http2SettingId.InitialWindowSize, (uint)_options.InitialStreamWindowSize);
        n += WriteSetting(settings[n..], Http2SettingId.MaxFrameSize, (uint)_options.MaxFrameSize);
        n += WriteSetting(settings[n..], Http2SettingId.MaxHeaderListSize, (uint)HeaderListLimit);
        if (_options.HeaderTableSize != 4096)
        {
            n += WriteSetting(settings[n..], Http2SettingId.HeaderTableSize, (uint)_options.HeaderTableSize);
        }

        QueueFrame(Http2FrameType.Settings, Http2FrameFlags.None, 0, settings[..n]);
        _context.Timeouts.SetTimeout(TimeoutReason.SettingsAck, _options.SettingsAckTimeout);
        int extra = _options.InitialConnectionWindowSize - 65535;
        _connectionReceiveWindow = _options.InitialConnectionWindowSize;
        if (extra > 0)
        {
            QueueWindowUpdate(0, extra);
        }
    }

    private static int WriteSetting(Span<byte> destination, Http2SettingId id, uint value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)id);
        BinaryPrimitives.WriteUInt32BigEndian(destination[2..], value);
        return 6;
    }

    private void SetEncoderTableSize(int size)
    {
        // Applied under the write gate by DrainControl, so the encoder never changes in the middle of a block.
        lock (_controlLock)
        {
            _pendingEncoderTableSize = size;
        }
    }

    internal void QueueFrame(Http2FrameType type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        lock (_controlLock)
        {
            var span = _control.GetSpan(Http2FrameHeader.Size + payload.Length);
            Http2FrameHeader.Write(span, payload.Length, type, flags, streamId);
            payload.CopyTo(span[Http2FrameHeader.Size..]);
            _control.Advance(Http2FrameHeader.Size + payload.Length);
        }
    }

    private void QueuePing(ReadOnlySpan<byte> data, bool ack) => QueueFrame(Http2FrameType.Ping, ack ? Http2FrameFlags.Ack : Http2FrameFlags.None, 0, data);

    private void QueueGoAway(int lastStreamId, Http2ErrorCode code, string? debugData = null)
    {
        // RFC 9113 §6.8: last stream id, error code, then opaque debug data (ours is short ASCII).
        Span<byte> payload = stackalloc byte[8 + (debugData?.Length ?? 0)];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)lastStreamId & 0x7FFFFFFF);
        BinaryPrimitives.WriteUInt32BigEndian(payload[4..], (uint)code);
        if (debugData is not null)
        {
            System.Text.Encoding.ASCII.GetBytes(debugData, payload[8..]);
        }

        QueueFrame(Http2FrameType.GoAway, Http2FrameFlags.None, 0, payload);
    }

    internal void QueueRstStream(int streamId, Http2ErrorCode code)
    {
        Span<byte> payload = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)code);
        QueueFrame(Http2FrameType.RstStream, Http2FrameFlags.None, streamId, payload);
    }

    internal void QueueWindowUpdate(int streamId, int increment)
    {
        Span<byte> payload = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)increment);
        QueueFrame(Http2FrameType.WindowUpdate, Http2FrameFlags.None, streamId, payload);
    }

    /// <summary>
    /// A stream error on a live stream (RFC 9113 §5.4.2): sends RST_STREAM, fails the app side and closes the stream.
    /// Reported even after the RST_STREAM NO_ERROR of an early response; never twice (§5.4).
    /// </summary>
    internal void ResetStream(Http2Stream stream, Http2ErrorCode code)
    {
        if (!MarkStreamError(stream.State))
        {
            return;
        }

        QueueRstStream(stream.Id, code);
        stream.Abort(new IOException($"The stream was reset ({code})."));
        stream.Close();
        ScheduleFlush();
    }

    /// <summary>
    /// A stream error on a stream that is no longer live: its remembered state (null when the id was skipped or
    /// forgotten) says whether one was already reported. RFC 9113 §5.4.2 lets RST_STREAM answer frames on a closed
    /// stream; each costs us a write, so it counts as a frame that makes no progress.
    /// </summary>
    private void ResetClosedStream(int streamId, Http2StreamState? state, Http2ErrorCode code)
    {
        if (state is not null && !MarkStreamError(state))
        {
            return;
        }

        CountUnproductiveFrame();
        QueueRstStream(streamId, code);
    }

    /// <summary>A stream error on an id that has no live stream, remembered as reset by us (refused, malformed).</summary>
    private void ResetNewStream(int streamId, Http2ErrorCode code)
    {
        var state = new Http2StreamState(streamId, 0, 0, Http2StreamFlags.ResetSent | Http2StreamFlags.ErrorSent);
        QueueRstStream(streamId, code);
        lock (_streamsLock)
        {
            _closed.Add(state);
        }
    }

    /// <summary>True for the first stream error on the stream: RFC 9113 §5.4, "the first stream error reported for a given stream prevents any other errors on that stream from being reported".</summary>
    private static bool MarkStreamError(Http2StreamState state)
    {
        state.Set(Http2StreamFlags.ResetSent);
        return state.Set(Http2StreamFlags.ErrorSent);
    }

    /// <summary>Makes sure queued control frames leave soon: the read batch flushes for itself, others flush now.</summary>
    internal void ScheduleFlush()
    {
        if (!InReadBatch)
        {
            _ = FlushQuietlyAsync();
        }
    }

    /// <summary>Bytes of request body consumed (or discarded): hand the connection window back in halves.</summary>
    internal void CreditConnectionWindow(long bytes)
    {
        long pending = Interlocked.Add(ref _connectionUnacked, bytes);
        if (pending >= _options.InitialConnectionWindowSize / 2 && Interlocked.CompareExchange(ref _connectionUnacked, 0, pending) == pending)
        {
            Interlocked.Add(ref _connectionReceiveWindow, pending);
            QueueWindowUpdate(0, (int)pending);
            ScheduleFlush();
        }
    }

    /// <summary>
    /// The gate is held for a few frames' worth of copying (and, rarely, a flush the transport makes wait), so a
    /// writer that finds it taken spins briefly before queueing: with many streams answering at once, queueing
    /// would cost each of them a wait node and every async frame above it.
    /// </summary>
    internal ValueTask EnterWriteAsync()
    {
        if (_writeGate.Wait(0))
        {
            return default;
        }

        var spinner = default(SpinWait);
        for (int i = 0; i < WriteGateSpins; i++)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
            if (_writeGate.Wait(0))
            {
                return default;
            }
        }

        var wait = _writeGate.WaitAsync();
        return wait.IsCompletedSuccessfully ? default : new ValueTask(wait);
    }

    private const int WriteGateSpins = 20;

    internal void ExitWrite() => _writeGate.Release();

    /// <summary>Under the gate: writes queued control frames ahead of whatever the caller writes next.</summary>
    internal void DrainControl()
    {
        if (_outputCompleted)
        {
            throw new IOException("The HTTP/2 connection is closed.");
        }

        lock (_controlLock)
        {
            if (_pendingEncoderTableSize >= 0)
            {
                _encoder.SetPeerMaxTableSize(_pendingEncoderTableSize);
                _pendingEncoderTableSize = -1;
            }

            if (_control.WrittenCount > 0)
            {
                _output.Write(_control.WrittenSpan);
                Volatile.Write(ref _unflushedOutput, _unflushedOutput + _control.WrittenCount);
                _control.ResetWrittenCount();
            }
        }
    }

    /// <summary>
    /// Writes queued control frames and flushes the transport. Callers write under the gate before they flush, so
    /// when another flush is still waiting for the gate it will carry their bytes too: with many streams finishing at
    /// once they join it instead of each queueing (and allocating) for a flush of its own.
    /// </summary>
    internal ValueTask FlushAsync() => Volatile.Read(ref _flushesWaiting) > 0 ? default : FlushNowAsync();

    private async ValueTask FlushNowAsync()
    {
        Interlocked.Increment(ref _flushesWaiting);
        bool waiting = true;
        try
        {
            await EnterWriteAsync().ConfigureAwait(false);

            // Holding the gate: whatever was written before now is ours to flush; later writers need their own flush.
            Interlocked.Decrement(ref _flushesWaiting);
            waiting = false;
            try
            {
                if (_outputCompleted)
                {
                    return;
                }

                DrainControl();
                await FlushOutputAsync().ConfigureAwait(false);
            }
            finally
            {
                ExitWrite();
            }
        }
        finally
        {
            if (waiting)
            {
                Interlocked.Decrement(ref _flushesWaiting);
            }
        }
    }

    /// <summary>
    /// Under the gate: flushes the transport. The bytes extend the response-rate allowance and, while the flush
    /// waits on the client, <see cref="HyperionOptions.MinResponseDataRate"/> is checked (one rule with HTTP/1.1).
    /// </summary>
    internal ValueTask FlushOutputAsync()
    {
        Volatile.Write(ref _unflushedOutput, 0);
        var timeouts = _context.Timeouts;
        timeouts.BytesWritten(_output.CanGetUnflushedBytes ? _output.UnflushedBytes : 0);
        var flush = _output.FlushAsync();
        return flush.IsCompletedSuccessfully ? default : Await(flush, timeouts);

        static async ValueTask Await(ValueTask<System.IO.Pipelines.FlushResult> pending, TimeoutControl timeouts)
        {
            timeouts.StartTimingWrite();
            try
            {
                await pending.ConfigureAwait(false);
            }
            finally
            {
                timeouts.StopTimingWrite();
            }
        }
    }

    /// <summary>Under the gate: a header block already encoded in <see cref="HeaderScratch"/>, split into HEADERS + CONTINUATION.</summary>
    internal void WriteHeaderBlock(int streamId, bool endStream)
    {
        var block = _headerScratch.WrittenSpan;
        int max = _peerMaxFrameSize;
        int first = Math.Min(block.Length, max);
        byte flags = (byte)((endStream ? Http2FrameFlags.EndStream : 0) | (first == block.Length ? Http2FrameFlags.EndHeaders : 0));
        WriteFrame(Http2FrameType.Headers, flags, streamId, block[..first]);
        block = block[first..];
        while (!block.IsEmpty)
        {
            int n = Math.Min(block.Length, max);
            WriteFrame(Http2FrameType.Continuation, n == block.Length ? Http2FrameFlags.EndHeaders : Http2FrameFlags.None, streamId, block[..n]);
            block = block[n..];
        }

        _headerScratch.ResetWrittenCount();
    }

    /// <summary>Under the gate: one frame straight to the transport.</summary>
    internal void WriteFrame(Http2FrameType type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        if (type is Http2FrameType.Data or Http2FrameType.Headers)
        {
            NoteStreamActivity();
        }

        var span = _output.GetSpan(Http2FrameHeader.Size + payload.Length);
        Http2FrameHeader.Write(span, payload.Length, type, flags, streamId);
        payload.CopyTo(span[Http2FrameHeader.Size..]);
        _output.Advance(Http2FrameHeader.Size + payload.Length);
        Volatile.Write(ref _unflushedOutput, _unflushedOutput + Http2FrameHeader.Size + payload.Length);
    }

    /// <summary>
    /// Under the gate: the output's memory at its tail, for frames written in place (a JSON body serialized straight into
    /// its DATA frame). Nothing else may write to the output until <see cref="CommitInPlace"/>.
    /// </summary>
    internal Memory<byte> GetOutputMemory(int sizeHint) => _output.GetMemory(sizeHint);

    /// <summary>Under the gate: commits <paramref name="bytes"/> of frames written into <see cref="GetOutputMemory"/>.</summary>
    internal void CommitInPlace(int bytes)
    {
        NoteStreamActivity();
        _output.Advance(bytes);
        Volatile.Write(ref _unflushedOutput, _unflushedOutput + bytes);
    }

    /// <summary>The size of the HEADERS frame plus DATA frame header of this connection's last in-place JSON response.</summary>
    internal int JsonHeadGuess { get; set; } = 96;

    /// <summary>
    /// Takes up to <paramref name="wanted"/> bytes of send window from both the stream and the connection.
    /// Returns 0 and a task to await when either window is shut (with <paramref name="canWait"/> false: 0 and no task).
    /// </summary>
    internal int ReserveSendWindow(Http2Stream stream, int wanted, out Task? wait, bool canWait = true)
    {
        lock (_flowLock)
        {
            long available = Math.Min(stream.SendWindow, _connectionSendWindow);
            if (available <= 0)
            {
                if (!canWait)
                {
                    wait = null;
                    return 0;
                }

                wait = stream.CreateWindowWaiter();
                if (_connectionSendWindow <= 0 && !_connectionWindowWaiters.Contains(stream))
                {
                    _connectionWindowWaiters.Add(stream);
                }

                return 0;
            }

            int n = (int)Math.Min(available, wanted);
            stream.SendWindow -= n;
            _connectionSendWindow -= n;

            // The bytes sent may be given back by WINDOW_UPDATEs on the stream and the connection, which then count
            // as progress however the client splits them; see TakeWindowUpdateCredit.
            stream.WindowUpdateCredit += n;
            _connectionWindowUpdateCredit += n;
            wait = null;
            return n;
        }
    }

    /// <summary>
    /// True when a WINDOW_UPDATE gives back window that DATA we sent consumed (<paramref name="credit"/>: the stream's,
    /// the connection's, or what closed streams left); false for one that only grows an untouched window, which is
    /// legal but, repeated, is a flood (CVE-2019-9517/9518 family). Credit is counted in bytes, not frames: clients
    /// return window in their own steps (HttpClient every 1/8 of its window, so up to two updates per 16 KiB frame).
    /// An increment under <see cref="MinProductiveIncrement"/> counts as progress only when it clears all that is
    /// owed, so returning a frame's window a byte at a time is still a flood.
    /// </summary>
    private bool TakeWindowUpdateCredit(ref long credit, int increment)
    {
        lock (_flowLock)
        {
            if (credit <= 0)
            {
                return false;
            }

            bool productive = increment >= MinProductiveIncrement || increment >= credit;
            credit = Math.Max(0, credit - increment);
            return productive;
        }
    }

    private const int MinProductiveIncrement = 1024;

    /// <summary>A closed stream's unspent credit stays valid: the client's WINDOW_UPDATE may cross our END_STREAM.</summary>
    private void KeepWindowUpdateCredit(Http2Stream stream)
    {
        lock (_flowLock)
        {
            _closedStreamWindowUpdateCredit += stream.WindowUpdateCredit;
            stream.WindowUpdateCredit = 0;
        }
    }

    private bool AdjustConnectionSendWindow(int increment)
    {
        lock (_flowLock)
        {
            if (_connectionSendWindow + increment > MaxWindow)
            {
                return false;
            }

            _connectionSendWindow += increment;
            foreach (var s in _connectionWindowWaiters)
            {
                s.WakeWindowWaiter();
            }

            _connectionWindowWaiters.Clear();
            return true;
        }
    }

    /// <summary>Grows a stream's send window, live (<paramref name="stream"/> set: a parked response wakes) or closed.</summary>
    private bool AdjustStreamSendWindow(Http2StreamState state, Http2Stream? stream, int delta)
    {
        lock (_flowLock)
        {
            if (state.SendWindow + delta > MaxWindow)
            {
                return false;
            }

            state.SendWindow += delta;
            if (state.SendWindow > 0)
            {
                stream?.WakeWindowWaiter();
            }

            return true;
        }
    }
}
