#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/TARGET: small valid inputs in each target's input format
(see fuzz/Hyperion.Fuzz/Targets). Run it after changing a format; the output is committed."""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- http1: raw bytes of a client's side of a connection ----
H = b"Host: localhost\r\n"
http1 = {
    "get": b"GET / HTTP/1.1\r\n" + H + b"\r\n",
    "static-pipelined": b"GET /s HTTP/1.1\r\n" + H + b"\r\nGET /d?x=1 HTTP/1.1\r\n" + H + b"\r\n",
    "post-length": b"POST /p HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n\r\nhello",
    "chunked": b"POST /c HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "chunked-ext-trailer": b"POST /c HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked\r\n\r\n"
    + b"3;name=\"v\\\"x\";a=b\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Sum: 1\r\n\r\n",
    "expect": b"PUT /e HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
    "http10": b"GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /y HTTP/1.0\r\n\r\n",
    "absolute": b"GET http://localhost/a%20b?q HTTP/1.1\r\n" + H + b"\r\n",
    "options": b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n",
    "upgrade": b"GET / HTTP/1.1\r\n" + H + b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
    "close": b"\r\nHEAD /s HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n",
}
for k, v in http1.items():
    write("http1", k, v)


# ---- hpack: settings octet, then [u16 length][block]... ----
def blocks(settings, *bs):
    return bytes([settings]) + b"".join(struct.pack(">H", len(b)) + b for b in bs)


c3 = [bytes.fromhex(x) for x in (
    "828684410f7777772e6578616d706c652e636f6d",
    "828684be58086e6f2d6361636865",
    "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565")]
c4 = [bytes.fromhex(x) for x in (
    "828684418cf1e3c2e5f23a6ba0ab90f4ff",
    "828684be5886a8eb10649cbf",
    "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf")]
write("hpack", "rfc7541-c3", blocks(0x0a, *c3))
write("hpack", "rfc7541-c4", blocks(0x1a, *c4))
write("hpack", "size-update", blocks(0x09, bytes.fromhex("20") + c3[0], bytes.fromhex("3fe11f") + c4[1]))
write("hpack", "never-indexed", blocks(0x0e, bytes.fromhex("1008706173737764") + b"\x06secret" + bytes.fromhex("0f2b03") + b"abc"))


# ---- h2frames: frames after the client preface (the harness adds the preface) ----
def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


SETTINGS = frame(4, 0, 0, struct.pack(">HI", 4, 65535) + struct.pack(">HI", 1, 4096))
ACK = frame(4, 1, 0)
GET = bytes.fromhex("828684") + b"\x41\x09localhost"
POST = bytes.fromhex("838684") + b"\x41\x09localhost" + bytes.fromhex("5c0135")  # content-length: 5
h2 = {
    "get": SETTINGS + ACK + frame(1, 0x05, 1, GET),
    "post-data": SETTINGS + frame(1, 0x04, 1, POST) + frame(0, 0, 1, b"he") + frame(0, 0x01, 1, b"llo"),
    "continuation": SETTINGS + frame(1, 0x01, 1, GET[:3]) + frame(9, 0x04, 1, GET[3:]),
    "padded-priority": SETTINGS + frame(1, 0x2D, 3, b"\x02" + struct.pack(">IB", 1, 15) + GET + b"\x00\x00"),
    "control": SETTINGS + frame(6, 0, 0, b"12345678") + frame(8, 0, 0, struct.pack(">I", 1000))
    + frame(1, 0x04, 1, POST) + frame(8, 0, 1, struct.pack(">I", 10)) + frame(3, 0, 1, struct.pack(">I", 8))
    + frame(2, 0, 3, struct.pack(">IB", 1, 3)) + frame(7, 0, 0, struct.pack(">II", 1, 0)),
    "trailers": SETTINGS + frame(1, 0x04, 1, bytes.fromhex("838684") + b"\x41\x09localhost")
    + frame(0, 0, 1, b"x") + frame(1, 0x05, 1, b"\x40\x03x-t\x01v"),
    "static-path": SETTINGS + frame(1, 0x05, 1, bytes.fromhex("8286") + b"\x44\x02/s" + b"\x41\x09localhost"),
}
for k, v in h2.items():
    write("h2frames", k, v)


# ---- h2headers: flags octet, then [u8 name length][name][u8 value length][value]... ----
def fields(flags, *pairs):
    return bytes([flags]) + b"".join(bytes([len(n)]) + n + bytes([len(v)]) + v for n, v in pairs)


REQ = [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/a?b=c"), (b":authority", b"example.com:8443")]
write("h2headers", "get", fields(0, *REQ, (b"accept", b"*/*"), (b"te", b"trailers")))
write("h2headers", "post", fields(0, (b":method", b"POST"), (b":scheme", b"http"), (b":path", b"/p"),
                                  (b"host", b"h"), (b"content-length", b"10"), (b"content-length", b"10")))
write("h2headers", "options", fields(0, (b":method", b"OPTIONS"), (b":scheme", b"http"), (b":path", b"*"), (b":authority", b"h")))
write("h2headers", "connect", fields(0, (b":method", b"CONNECT"), (b":authority", b"h:443")))
write("h2headers", "trailers", fields(1, (b"grpc-status", b"0"), (b"x-sum", b"abc")))
