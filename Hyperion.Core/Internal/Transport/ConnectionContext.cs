using System.Net;
using System.Net.Sockets;

namespace Hyperion.Internal.Transport;

/// <summary>What the protocol code may know about the transport under it.</summary>
internal sealed class ConnectionContext
{
    public ConnectionContext(IPEndPoint? remote, int localPort, string scheme, Socket? socket)
    {
        Remote = remote;
        LocalPort = localPort;
        Scheme = scheme;
        Socket = socket;
    }

    public IPEndPoint? Remote { get; }

    public int LocalPort { get; }

    public string Scheme { get; }

    /// <summary>The raw socket when bytes go to it unchanged (no TLS), so files can use sendfile.</summary>
    public Socket? Socket { get; }

    /// <summary>Set by the transport: tears the connection down at once (used after the stop timeout).</summary>
    public Action? Abort { get; set; }

    public string RemoteText => Remote?.ToString() ?? "in-process";
}
