using System.Net;
using System.Net.Sockets;
using Hyperion.Native;

namespace Hyperion.Internal.Transport.Loops;

/// <summary>N transport loops (io_uring or epoll), each with its own SO_REUSEPORT listener per endpoint; the kernel spreads connections across them.</summary>
internal sealed class LoopTransport
{
    private readonly List<TransportLoop> _loops = [];
    private readonly Func<int, Socket[], TransportLoop> _createLoop;

    /// <param name="createLoop">Makes loop number <c>i</c> over its listeners.</param>
    public LoopTransport(Func<int, Socket[], TransportLoop> createLoop) => _createLoop = createLoop;

    public IReadOnlyList<IPEndPoint> Endpoints { get; private set; } = [];

    public int LoopCount => _loops.Count;

    public string Detail { get; private set; } = string.Empty;

    public async Task StartAsync(IReadOnlyList<IPEndPoint> endpoints, int loopCount, int backlog)
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
            _loops.Add(_createLoop(i, perLoop[i]));
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

        Detail = _loops[0].Detail is { Length: > 0 } detail ? $"{loopCount} loop(s), {detail}" : $"{loopCount} loop(s)";
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
