using System.Buffers.Binary;
using Hyperion;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Http2;

/// <summary>Each <see cref="Http2Options"/> value reaches the wire (SETTINGS, WINDOW_UPDATE) or the limit it names.</summary>
public class Http2OptionsTests
{
    private static Dictionary<int, uint> Parse(byte[] payload)
    {
        var d = new Dictionary<int, uint>();
        for (int i = 0; i + 6 <= payload.Length; i += 6)
        {
            d[BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(i))] = BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(i + 2));
        }

        return d;
    }

    [Fact]
    public async Task Settings_and_connection_window_follow_the_options()
    {
        var o = new Http2Options
        {
            MaxConcurrentStreams = 7,
            MaxFrameSize = 32768,
            MaxHeaderListSize = 10000,
            HeaderTableSize = 8192,
            InitialStreamWindowSize = 100_000,
            InitialConnectionWindowSize = 200_000,
        };
        await using var ts = await TestServer.StartAsync(s => { s.UseHttp2(o); s.HandleStatic("GET", "/static", "ok"); });
        await using var c = await H2RawClient.ConnectAsync(ts.Port);
        var settings = Parse((await c.ExpectAsync(f => f.Type == H2.Settings && !f.Has(H2.Ack), "SETTINGS")).Payload);
        settings.Should().Contain(new Dictionary<int, uint> { [1] = 8192, [3] = 7, [4] = 100_000, [5] = 32768, [6] = 10000 });
        var update = await c.ExpectAsync(f => f.Type == H2.WindowUpdate && f.StreamId == 0, "connection WINDOW_UPDATE");
        BinaryPrimitives.ReadUInt32BigEndian(update.Payload).Should().Be(200_000 - 65535);
    }

    [Fact]
    public async Task A_larger_max_frame_size_admits_larger_frames_and_no_more()
    {
        await using var ts = await TestServer.StartAsync(s =>
        {
            s.UseHttp2(new Http2Options { MaxFrameSize = 32768 });
            s.Handle("POST", "/echo", async env =>
            {
                var ms = new MemoryStream();
                await env.Body.CopyToAsync(ms);
                return RackResponse.Bytes(200, ms.ToArray());
            });
        });
        await using var c = await H2RawClient.ConnectAsync(ts.Port);
        await c.SendHeadersAsync(1, false, H2.Post("/echo"));
        await c.SendFrameAsync(H2.Data, H2.EndStream, 1, new byte[30000]);
        (await c.ReadResponseAsync(1)).Body.Length.Should().Be(30000);
        await c.SendHeadersAsync(3, false, H2.Post("/echo"));
        await c.SendFrameAsync(H2.Data, H2.EndStream, 3, new byte[32769]);
        (await c.ExpectGoAwayAsync()).ErrorCode.Should().Be(H2.FrameSizeError);
    }

    public static TheoryData<string, Action<Http2Options>> Invalid() => new()
    {
        { "frame size below 16384", o => o.MaxFrameSize = 16383 },
        { "frame size above 2^24-1", o => o.MaxFrameSize = 1 << 24 },
        { "zero streams", o => o.MaxConcurrentStreams = 0 },
        { "zero stream window", o => o.InitialStreamWindowSize = 0 },
        { "connection window below 65535", o => o.InitialConnectionWindowSize = 1000 },
        { "tiny header list", o => o.MaxHeaderListSize = 10 },
        { "no continuation frames", o => o.MaxContinuationFrames = 0 },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Invalid_options_are_refused_by_UseHttp2(string name, Action<Http2Options> change)
    {
        var o = new Http2Options();
        change(o);
        var server = new HyperionServer(new HyperionOptions { Port = 0 });
        var act = () => server.UseHttp2(o);
        act.Should().Throw<ArgumentOutOfRangeException>(name);
    }
}
