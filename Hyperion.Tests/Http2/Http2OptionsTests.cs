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

    [Theory]
    [InlineData(256)]
    [InlineData(8192)]
    public async Task HeaderTableSize_binds_the_client_only_after_it_acknowledges_our_settings(int tableSize)
    {
        // RFC 9113 §6.5.2: blocks sent before the client has seen our SETTINGS are encoded against a 4096-byte
        // table. Two 1,200-byte indexed fields fit in 4096 but not in 256: the decoder must not evict early.
        await using var ts = await TestServer.StartAsync(s => { s.UseHttp2(new Http2Options { HeaderTableSize = tableSize }); s.HandleStatic("GET", "/static", "ok"); });
        await using var c = await H2RawClient.ConnectAsync(ts.Port);
        var encoder = new Hyperion.Http2.Hpack.HpackEncoder { Indexing = Hyperion.Http2.Hpack.HpackIndexing.All };
        (string, string)[] fields = [.. H2.Get(), ("x-one", new string('a', 1200)), ("x-two", new string('b', 1200))];
        byte[] Encode()
        {
            var block = new System.Buffers.ArrayBufferWriter<byte>();
            encoder.BeginBlock(block);
            foreach (var (name, value) in fields)
            {
                encoder.EncodeHeader(block, name, value);
            }

            return block.WrittenSpan.ToArray();
        }

        // Both requests go out before we read the server's SETTINGS; the second refers to dynamic entries only.
        await c.SendAsync(H2.Frame(H2.Headers, H2.EndHeaders | H2.EndStream, 1, Encode()), H2.Frame(H2.Headers, H2.EndHeaders | H2.EndStream, 3, Encode()));
        (await c.ReadResponseAsync(1)).Status.Should().Be(200);
        (await c.ReadResponseAsync(3)).Status.Should().Be(200);

        // After our ACK of its SETTINGS and its ACK of ours, the client adopts the advertised size (with a size update).
        await c.SendAsync(H2.Frame(H2.Settings, H2.Ack, 0, []));
        encoder.SetPeerMaxTableSize(tableSize);
        await c.SendAsync(H2.Frame(H2.Headers, H2.EndHeaders | H2.EndStream, 5, Encode()));
        (await c.ReadResponseAsync(5)).Status.Should().Be(200);
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
        { "no unproductive frames", o => o.MaxUnproductiveFramesPerSecond = 0 },
        { "zero settings ack timeout", o => o.SettingsAckTimeout = TimeSpan.Zero },
        { "negative settings ack timeout", o => o.SettingsAckTimeout = TimeSpan.FromSeconds(-1) },
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
