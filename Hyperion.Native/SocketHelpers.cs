using System.Net;
using System.Net.Sockets;

namespace Hyperion.Native;

/// <summary>Socket calls on raw descriptors that the ring does not make for us.</summary>
public static unsafe class SocketHelpers
{
    /// <summary>A listening socket with SO_REUSEADDR and SO_REUSEPORT, so each loop can have its own on one port.</summary>
    public static Socket CreateReusePortListener(IPEndPoint endpoint, int backlog)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.AddressFamily == AddressFamily.InterNetworkV6 && endpoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            int one = 1;
            if (Libc.SetSockOpt((int)socket.Handle, Libc.SolSocket, Libc.SoReusePort, &one, sizeof(int)) != 0)
            {
                throw new IoUringException("setsockopt(SO_REUSEPORT)", Libc.LastErrno);
            }

            socket.Bind(endpoint);
            socket.Listen(backlog);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Disables Nagle: responses are written whole, so waiting for more only adds latency.</summary>
    public static void SetNoDelay(int fd)
    {
        int one = 1;
        Libc.SetSockOpt(fd, Libc.IpprotoTcp, Libc.TcpNodelay, &one, sizeof(int));
    }

    /// <summary>The peer address of a connected socket, or null.</summary>
    public static IPEndPoint? GetPeer(int fd)
    {
        byte* buffer = stackalloc byte[128];
        uint length = 128;
        if (Libc.GetPeerName(fd, buffer, &length) != 0)
        {
            return null;
        }

        ushort family = *(ushort*)buffer;
        int port = (buffer[2] << 8) | buffer[3];
        if (family == 2)
        {
            return new IPEndPoint(new IPAddress(new ReadOnlySpan<byte>(buffer + 4, 4)), port);
        }

        if (family == 10)
        {
            var address = new IPAddress(new ReadOnlySpan<byte>(buffer + 8, 16), *(uint*)(buffer + 24));
            return new IPEndPoint(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, port);
        }

        return null;
    }

    /// <summary>Best-effort blocking write of a short message (used for the 503 on an over-limit accept).</summary>
    public static void WriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            Libc.Write(fd, p, (nuint)data.Length);
        }
    }

    /// <summary>close(2).</summary>
    public static void Close(int fd) => Libc.Close(fd);

    /// <summary>An eventfd other threads write to wake a ring that keeps a read armed on it.</summary>
    public static int CreateEventFd()
    {
        int fd = Libc.EventFd(0, Libc.EfdCloexec | Libc.EfdNonblock);
        return fd >= 0 ? fd : throw new IoUringException("eventfd", Libc.LastErrno);
    }

    /// <summary>Adds 1 to an eventfd.</summary>
    public static void Signal(int eventFd)
    {
        ulong one = 1;
        Libc.Write(eventFd, &one, sizeof(ulong));
    }

    /// <summary>recv(2) without blocking: the byte count (0 at EOF) or -errno (-EAGAIN when nothing is waiting).</summary>
    public static int Receive(int fd, byte* buffer, int length)
    {
        nint n = Libc.Recv(fd, buffer, (nuint)length, Libc.MsgDontwait);
        return n >= 0 ? (int)n : -Libc.LastErrno;
    }

    /// <summary>send(2) without blocking and without SIGPIPE: the bytes taken or -errno (-EAGAIN when the socket buffer is full).</summary>
    public static int Send(int fd, byte* data, int length)
    {
        nint n = Libc.Send(fd, data, (nuint)length, Libc.MsgDontwait | Libc.MsgNosignal);
        return n >= 0 ? (int)n : -Libc.LastErrno;
    }

    /// <summary>sendmsg(2) of a struct msghdr's iovecs, without blocking and without SIGPIPE: the bytes taken or -errno.</summary>
    public static int SendMessage(int fd, void* message)
    {
        nint n = Libc.SendMsg(fd, message, Libc.MsgDontwait | Libc.MsgNosignal);
        return n >= 0 ? (int)n : -Libc.LastErrno;
    }

    /// <summary>
    /// sendfile(2) of up to <paramref name="count"/> bytes of <paramref name="fileFd"/> from <paramref name="offset"/> to a
    /// non-blocking socket: the bytes taken, 0 when the file ends at <paramref name="offset"/>, or -errno (-EAGAIN when
    /// the socket buffer is full). The kernel moves page-cache pages to the socket; no copy through user memory.
    /// sendfile has no MSG_NOSIGNAL: a dead peer gives -EPIPE only because the .NET runtime ignores SIGPIPE.
    /// </summary>
    public static int SendFile(int socketFd, int fileFd, long offset, int count)
    {
        nint n = Libc.SendFile(socketFd, fileFd, &offset, (nuint)count);
        return n >= 0 ? (int)n : -Libc.LastErrno;
    }

    /// <summary>Sets O_NONBLOCK on a descriptor (sendfile(2) has no MSG_DONTWAIT); false when fcntl failed.</summary>
    public static bool SetNonBlocking(int fd)
    {
        int flags = Libc.Fcntl(fd, Libc.FGetFl, 0);
        return flags >= 0 && ((flags & Libc.ONonblock) != 0 || Libc.Fcntl(fd, Libc.FSetFl, flags | Libc.ONonblock) == 0);
    }

    /// <summary>accept4(2) of a waiting connection as a non-blocking, close-on-exec descriptor, or -errno (-EAGAIN when none waits).</summary>
    public static int Accept(int listenerFd)
    {
        int fd = Libc.Accept4(listenerFd, null, null, Libc.SockNonblock | Libc.SockCloexec);
        return fd >= 0 ? fd : -Libc.LastErrno;
    }

    /// <summary>shutdown(fd, SHUT_WR): the peer reads EOF after what was sent.</summary>
    public static void ShutdownWrite(int fd) => Libc.Shutdown(fd, Libc.ShutWr);

    /// <summary>Resets an eventfd that <see cref="Signal"/> raised.</summary>
    public static void DrainEventFd(int eventFd)
    {
        ulong value;
        Libc.Read(eventFd, &value, sizeof(ulong));
    }

    /// <summary>EAGAIN, as the negative result of <see cref="Receive"/>, <see cref="Send"/> and <see cref="Accept"/>.</summary>
    public const int WouldBlock = -Libc.EAGAIN;
}
