using System.Globalization;
using System.Text;
using Grpc.Core;

namespace Hyperion.Grpc.Internal;

/// <summary>Wire facts of gRPC over HTTP/2 (grpc PROTOCOL-HTTP2.md).</summary>
internal static class GrpcProtocol
{
    public const string ContentType = "application/grpc";

    public const int HeaderSize = 5;

    private static readonly string[] StatusCodes = CreateStatusCodes();

    private static string[] CreateStatusCodes()
    {
        var codes = new string[17];
        for (int i = 0; i < codes.Length; i++)
        {
            codes[i] = i.ToString(CultureInfo.InvariantCulture);
        }

        return codes;
    }

    public static string StatusText(StatusCode code)
        => (uint)code < (uint)StatusCodes.Length ? StatusCodes[(int)code] : ((int)code).ToString(CultureInfo.InvariantCulture);

    /// <summary><c>application/grpc</c>, <c>application/grpc+proto</c>, <c>application/grpc+anything</c>, parameters allowed; case-insensitive.</summary>
    public static bool IsGrpcContentType(string? contentType)
    {
        if (contentType is null || !contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (contentType.Length == ContentType.Length)
        {
            return true;
        }

        char next = contentType[ContentType.Length];
        return next is '+' or ';';
    }

    /// <summary>
    /// PROTOCOL-HTTP2.md: <c>Timeout → TimeoutValue TimeoutUnit</c>, at most 8 ASCII digits and one of H M S m u n.
    /// False for anything else (the caller ignores the header then).
    /// </summary>
    public static bool TryParseTimeout(string value, out TimeSpan timeout)
    {
        timeout = default;
        if (value.Length is < 2 or > 9)
        {
            return false;
        }

        long amount = 0;
        for (int i = 0; i < value.Length - 1; i++)
        {
            char c = value[i];
            if (c is < '0' or > '9')
            {
                return false;
            }

            amount = (amount * 10) + (c - '0');
        }

        // 99,999,999 hours is beyond TimeSpan; such a deadline is as good as none, so it is clamped rather than refused.
        long ticks = value[^1] switch
        {
            'H' => Math.Min(amount, TimeSpan.MaxValue.Ticks / TimeSpan.TicksPerHour) * TimeSpan.TicksPerHour,
            'M' => amount * TimeSpan.TicksPerMinute,
            'S' => amount * TimeSpan.TicksPerSecond,
            'm' => amount * TimeSpan.TicksPerMillisecond,
            'u' => amount * TimeSpan.TicksPerMicrosecond,
            'n' => (amount + 99) / 100, // 100 ns ticks, rounded up so a non-zero timeout stays non-zero
            _ => -1,
        };
        if (ticks < 0)
        {
            return false;
        }

        timeout = TimeSpan.FromTicks(ticks);
        return true;
    }

    /// <summary>PROTOCOL-HTTP2.md: grpc-message is percent-encoded UTF-8; bytes outside 0x20–0x7E and '%' itself are escaped.</summary>
    public static string PercentEncode(string message)
    {
        int i = 0;
        while (i < message.Length && message[i] is >= ' ' and <= '~' and not '%')
        {
            i++;
        }

        if (i == message.Length)
        {
            return message;
        }

        var bytes = Encoding.UTF8.GetBytes(message);
        var sb = new StringBuilder(bytes.Length + 16);
        foreach (byte b in bytes)
        {
            if (b is >= (byte)' ' and <= (byte)'~' and not (byte)'%')
            {
                sb.Append((char)b);
            }
            else
            {
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    /// <summary>Headers the server consumes itself and does not show in <see cref="ServerCallContext.RequestHeaders"/> (as grpc-dotnet).</summary>
    public static bool IsFilteredRequestHeader(string name) => name switch
    {
        "te" or "host" or "content-type" or "grpc-timeout" or "grpc-encoding" or "grpc-accept-encoding" or "accept-encoding" => true,
        _ => name.Length > 0 && name[0] == ':',
    };

    /// <summary>Metadata → header value: <c>-bin</c> values as unpadded base64 (PROTOCOL-HTTP2.md: senders should not pad).</summary>
    public static string HeaderValue(Metadata.Entry entry)
        => entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes).TrimEnd('=') : entry.Value;

    /// <summary>A <c>-bin</c> header value, padded or not; null when it is not base64.</summary>
    public static byte[]? DecodeBinary(string value)
    {
        int pad = (4 - (value.Length % 4)) % 4;
        if (pad == 3)
        {
            return null;
        }

        string padded = pad == 0 ? value : value + new string('=', pad);
        var bytes = new byte[(padded.Length / 4) * 3];
        return Convert.TryFromBase64String(padded, bytes, out int n) ? bytes.AsSpan(0, n).ToArray() : null;
    }
}
