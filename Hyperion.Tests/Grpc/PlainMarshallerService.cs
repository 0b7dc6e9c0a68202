using System.Text;
using Grpc.Core;

namespace Hyperion.Tests.Grpc;

/// <summary>
/// A service written the way Grpc.Tools writes one, but with marshallers built from plain byte[] functions (no
/// <c>IBufferMessage</c>): the server must serialize through <c>SerializationContext.Complete(byte[])</c> and
/// deserialize through <c>PayloadAsNewBuffer</c>. Its service methods are named after the RPCs, as generated ones are
/// (the factory form finds them by that name).
/// </summary>
public static class PlainMarshallerService
{
    public static readonly Marshaller<string> Text = Marshallers.Create(s => Encoding.UTF8.GetBytes(s), b => Encoding.UTF8.GetString(b));

    public static readonly Method<string, string> Shout = new(MethodType.Unary, "hyperion.tests.Plain", "Shout", Text, Text);

    public static readonly Method<string, string> Letters = new(MethodType.ServerStreaming, "hyperion.tests.Plain", "Letters", Text, Text);

    public static void BindService(ServiceBinderBase binder, PlainBase? implementation)
    {
        binder.AddMethod(Shout, implementation is null ? null : new UnaryServerMethod<string, string>(implementation.Shout));
        binder.AddMethod(Letters, implementation is null ? null : new ServerStreamingServerMethod<string, string>(implementation.Letters));
    }

    [BindServiceMethod(typeof(PlainMarshallerService), nameof(BindService))]
    public abstract class PlainBase
    {
        public virtual Task<string> Shout(string request, ServerCallContext context) => throw new RpcException(new Status(StatusCode.Unimplemented, ""));

        public virtual Task Letters(string request, IServerStreamWriter<string> responses, ServerCallContext context) => throw new RpcException(new Status(StatusCode.Unimplemented, ""));
    }

    public sealed class Impl : PlainBase
    {
        public override Task<string> Shout(string request, ServerCallContext context) => Task.FromResult(request.ToUpperInvariant() + "!");

        public override async Task Letters(string request, IServerStreamWriter<string> responses, ServerCallContext context)
        {
            foreach (char c in request)
            {
                await responses.WriteAsync(c.ToString());
            }
        }
    }
}
