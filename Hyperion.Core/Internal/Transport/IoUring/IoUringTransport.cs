using System.Net;
using System.Net.Sockets;
using Hyperion.Internal.Tls;
using Hyperion.Native;

namespace Hyperion.Internal.Transport.IoUring;

/// <summary>N io_uring loops, each with its own SO_REUSEPORT listener per endpoint; the kernel spreads connections across them.</summary>
internal sealed class IoUringTransport
{
    private readonly List<IoUringLoop> _loops = [];

    public IReadOnlyList<IPEndPoint> Endpoints { get; private set; } = [];

    public int LoopCount => _loops.Count;

    public string Detail { get; private set; } = string.Empty;

    public async Task StartAsync(HyperionServer server, IReadOnlyList<IPEndPoint> endpoints, IReadOnlyList<TlsListener?> tls, int loopCount, int backlog)
    {
        // The first loop's listeners resolve port 0; the other loops bind the same ports.
        var bound = new List<IPEndPoint>();
        var perLoop = new List<Socket[]>();
        try
        {
            for (int loop = 0; loop < loopCount; loop++)
            {
                var sockets = new Socket[endpoints.Count];
                for (int i = 0; i < endpoints.Count; i++)
                {
                    var ep = loop == 0 ? endpoints[i] : bound[i];
                    sockets[i] = SocketHelpers.CreateReusePortListener(ep, backlog);
                    if (loop == 0)
                    {
                        bound.Add((IPEndPoint)sockets[i].LocalEndPoint!);
                    }
                }

                perLoop.Add(sockets);
            }
        }
        catch
        {
            foreach (var s in perLoop.SelectMany(x => x))
            {
                s?.Dispose();
            }

            throw;
        }

        Endpoints = bound;
        for (int i = 0; i < loopCount; i++)
        {
            _loops.Add(new IoUringLoop(server, i, perLoop[i], tls, server.Options.IoUringBufferCount));
        }

        try
        {
            await Task.WhenAll(_loops.Select(l => l.StartAsync())).ConfigureAwait(false);
        }
        catch
        {
            foreach (var l in _loops)
            {
                l.Exit();
            }

            throw;
        }

        Detail = $"{loopCount} loop(s), setup flags 0x{_loops[0].SetupFlags:x}";
    }

    public void StopAccepting()
    {
        foreach (var l in _loops)
        {
            l.StopAccepting();
        }
    }

    public async Task ShutdownAsync()
    {
        foreach (var l in _loops)
        {
            l.Exit();
        }

        await Task.WhenAll(_loops.Select(l => l.Exited)).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
    }
}
