using System.Text;

namespace Hyperion.Internal.Infrastructure;

/// <summary>
/// The IMF-fixdate for the Date header (RFC 9110 §6.6.1), formatted at most once per second into one of
/// two buffers so readers never see a half-written value and nothing is allocated per request.
/// </summary>
internal sealed class DateHeaderCache
{
    public const int Length = 29;

    private readonly byte[][] _buffers = [new byte[Length], new byte[Length]];
    private readonly Lock _lock = new();
    private long _second = -1;
    private int _current;

    public ReadOnlySpan<byte> Current
    {
        get
        {
            long now = DateTime.UtcNow.Ticks / TimeSpan.TicksPerSecond;
            if (now != Volatile.Read(ref _second))
            {
                Refresh(now);
            }

            return _buffers[Volatile.Read(ref _current)];
        }
    }

    private void Refresh(long second)
    {
        lock (_lock)
        {
            if (_second == second)
            {
                return;
            }

            int next = _current ^ 1;
            Span<char> chars = stackalloc char[Length];
            new DateTime(second * TimeSpan.TicksPerSecond, DateTimeKind.Utc).TryFormat(chars, out int written, "r", System.Globalization.CultureInfo.InvariantCulture);
            Encoding.ASCII.GetBytes(chars[..written], _buffers[next]);
            Volatile.Write(ref _current, next);
            Volatile.Write(ref _second, second);
        }
    }
}
