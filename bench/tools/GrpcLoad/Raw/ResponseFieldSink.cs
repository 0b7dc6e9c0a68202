using System.Buffers.Text;
using Hyperion.Http2.Hpack;

namespace GrpcLoad;

/// <summary>The two fields of a response header block the raw client judges a call by: :status and grpc-status.</summary>
internal sealed class ResponseFieldSink : IHpackHeaderSink
{
    /// <summary>Not present in the block.</summary>
    public const int Absent = -1;

    /// <summary>Present but not a decimal number.</summary>
    public const int Malformed = -2;

    public int HttpStatus { get; private set; } = Absent;

    public int GrpcStatus { get; private set; } = Absent;

    public void Reset()
    {
        HttpStatus = Absent;
        GrpcStatus = Absent;
    }

    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (name.SequenceEqual(":status"u8))
        {
            HttpStatus = Number(value);
        }
        else if (name.SequenceEqual("grpc-status"u8))
        {
            GrpcStatus = Number(value);
        }
    }

    private static int Number(ReadOnlySpan<byte> value)
        => Utf8Parser.TryParse(value, out int n, out int used) && used == value.Length && n >= 0 ? n : Malformed;
}
