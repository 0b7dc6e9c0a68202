using System.Buffers.Binary;
using Google.Protobuf;
using Hyperion.Tests.Http2;

namespace Hyperion.Tests.Grpc;

/// <summary>gRPC requests built by hand for the raw HTTP/2 client: what no well-behaved client sends.</summary>
public static class GrpcRaw
{
    public const string SayHello = "/hyperion.tests.Greeter/SayHello";
    public const string CountUp = "/hyperion.tests.Greeter/CountUp";
    public const string JoinNames = "/hyperion.tests.Greeter/JoinNames";
    public const string Chat = "/hyperion.tests.Greeter/Chat";

    public static (string, string)[] Headers(string path, params (string, string)[] extra)
        => H2.Post(path, [("content-type", "application/grpc"), ("te", "trailers"), .. extra]);

    /// <summary>A length-prefixed message (PROTOCOL-HTTP2.md): flag, 4-byte big-endian length, payload.</summary>
    public static byte[] Message(IMessage message, bool compressedFlag = false) => Framed(message.ToByteArray(), compressedFlag);

    public static byte[] Framed(byte[] payload, bool compressedFlag = false)
    {
        var framed = new byte[5 + payload.Length];
        framed[0] = compressedFlag ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(framed, 5);
        return framed;
    }

    public static byte[] Data(int streamId, byte[] payload, bool endStream = true)
        => H2.Frame(H2.Data, endStream ? H2.EndStream : (byte)0, streamId, payload);

    /// <summary>The messages of a response body, in order.</summary>
    public static List<byte[]> Messages(byte[] body)
    {
        var messages = new List<byte[]>();
        int at = 0;
        while (at < body.Length)
        {
            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(at + 1));
            messages.Add(body.AsSpan(at + 5, length).ToArray());
            at += 5 + length;
        }

        return messages;
    }

    public static string? Field(List<(string Name, string Value)> fields, string name) => fields.FirstOrDefault(f => f.Name == name).Value;
}
