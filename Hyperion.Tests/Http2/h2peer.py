"""A strict HTTP/2 peer (python3-h2) driven by Http2PeerTests: one scenario per run, results on stdout as JSON."""
import json
import socket
import sys

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import hyperframe.frame


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    return sock, conn


def pump(sock, conn, until):
    """Reads and feeds events until until(events_so_far) is true or the server closes."""
    seen = []
    while not until(seen):
        data = sock.recv(65536)
        if not data:
            seen.append(("closed",))
            break
        for ev in conn.receive_data(data):
            seen.append(ev)
            if isinstance(ev, h2.events.DataReceived):
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
    return seen


def conversation(port):
    """Several requests, one with a body, checked by h2's own state machine (it raises on any protocol violation)."""
    sock, conn = connect(port)
    results = {}
    streams = {}
    for path in ["/static", "/dynamic?x=1", "/trailers", "/missing"]:
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", "GET"), (":scheme", "http"), (":path", path), (":authority", "localhost")], end_stream=True)
        streams[sid] = path
    sid = conn.get_next_available_stream_id()
    body = b"x" * 100000
    conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"), (":path", "/echo"), (":authority", "localhost"), ("content-length", str(len(body)))])
    streams[sid] = "/echo"
    sock.sendall(conn.data_to_send())
    pending = body
    ended = set()
    data = {s: b"" for s in streams}
    status = {}
    trailers = {}
    while len(ended) < len(streams):
        while pending:
            window = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size)
            if window <= 0:
                break
            chunk, pending = pending[:window], pending[window:]
            conn.send_data(sid, chunk, end_stream=not pending)
            sock.sendall(conn.data_to_send())
        raw = sock.recv(65536)
        if not raw:
            break
        for ev in conn.receive_data(raw):
            if isinstance(ev, h2.events.ResponseReceived):
                status[ev.stream_id] = dict(ev.headers)[":status"]
            elif isinstance(ev, h2.events.DataReceived):
                data[ev.stream_id] += ev.data
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.TrailersReceived):
                trailers[ev.stream_id] = dict(ev.headers)
            elif isinstance(ev, h2.events.StreamEnded):
                ended.add(ev.stream_id)
            elif isinstance(ev, (h2.events.StreamReset, h2.events.ConnectionTerminated)):
                raise RuntimeError("unexpected " + repr(ev))
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
    for s, path in streams.items():
        results[path] = {"status": status.get(s), "length": len(data[s]), "body": data[s][:64].decode("latin-1"), "trailers": trailers.get(s, {})}
    conn.close_connection()
    sock.sendall(conn.data_to_send())
    sock.close()
    return results


def error_case(port, raw_frames_hex):
    """Sends raw frames after a normal handshake; reports the GOAWAY or RST_STREAM h2 saw."""
    sock, conn = connect(port)
    pump(sock, conn, lambda seen: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in seen))
    sock.sendall(bytes.fromhex(raw_frames_hex))
    report = {}
    try:
        seen = pump(sock, conn, lambda seen: any(isinstance(e, (h2.events.ConnectionTerminated, h2.events.StreamReset)) or e == ("closed",) for e in seen))
        for ev in seen:
            if isinstance(ev, h2.events.ConnectionTerminated):
                report = {"goaway": int(ev.error_code), "last_stream_id": ev.last_stream_id}
            elif isinstance(ev, h2.events.StreamReset):
                report = {"rst": int(ev.error_code), "stream": ev.stream_id}
    except h2.exceptions.ProtocolError as ex:
        report = {"client_error": str(ex)}
    sock.close()
    return report


def malformed(port):
    """h2 with its own header checks turned off sends an uppercase field name; the server must reset the stream."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8", validate_outbound_headers=False, normalize_outbound_headers=False)
    conn = h2.connection.H2Connection(config=config)
    conn.initiate_connection()
    conn.send_headers(1, [(":method", "GET"), (":scheme", "http"), (":path", "/static"), (":authority", "localhost"), ("X-Upper", "1")], end_stream=True)
    sock.sendall(conn.data_to_send())
    seen = pump(sock, conn, lambda seen: any(isinstance(e, (h2.events.StreamReset, h2.events.ConnectionTerminated, h2.events.ResponseReceived)) or e == ("closed",) for e in seen))
    report = {}
    for ev in seen:
        if isinstance(ev, h2.events.StreamReset):
            report = {"rst": int(ev.error_code), "stream": ev.stream_id}
        elif isinstance(ev, h2.events.ResponseReceived):
            report = {"status": dict(ev.headers)[":status"]}
        elif isinstance(ev, h2.events.ConnectionTerminated):
            report = {"goaway": int(ev.error_code)}
    sock.close()
    return report


def after_early_answer(port, reset_first, raw_frames_hex):
    """POST /now without END_STREAM: the server answers and resets the stream (NO_ERROR) before the request ends. Once h2
    has seen all that (and, if asked, reset the stream itself), raw frames follow, then a PING. h2 checks every byte
    the server sends; the frames are also parsed with hyperframe, since h2 raises no event for a RST_STREAM on a
    stream it already counts as reset. Reports the RST_STREAM and GOAWAY frames that answered the raw frames."""
    sock, conn = connect(port)
    conn.send_headers(1, [(":method", "POST"), (":scheme", "http"), (":path", "/now"), (":authority", "localhost")], end_stream=False)
    sock.sendall(conn.data_to_send())
    early = pump(sock, conn, lambda seen: any(isinstance(e, (h2.events.StreamReset, h2.events.ConnectionTerminated)) or e == ("closed",) for e in seen))
    report = {"early": [int(e.error_code) for e in early if isinstance(e, h2.events.StreamReset)], "after": []}
    if reset_first:
        # h2's own RST_STREAM (CANCEL): frames it sends on the stream after this are its error.
        sock.sendall(bytes.fromhex("00000403000000000100000008"))
    sock.sendall(bytes.fromhex(raw_frames_hex))
    conn.ping(b"settled!")
    sock.sendall(conn.data_to_send())
    pending = b""
    acked = False
    try:
        while not acked:
            data = sock.recv(65536)
            if not data:
                report["after"].append({"closed": True})
                break
            pending += data
            while len(pending) >= 9:
                header, length = hyperframe.frame.Frame.parse_frame_header(memoryview(pending[:9]))
                if len(pending) < 9 + length:
                    break
                header.parse_body(memoryview(pending[9:9 + length]))
                pending = pending[9 + length:]
                if isinstance(header, hyperframe.frame.RstStreamFrame):
                    report["after"].append({"rst": header.error_code, "stream": header.stream_id})
                elif isinstance(header, hyperframe.frame.GoAwayFrame):
                    report["after"].append({"goaway": header.error_code})
                elif isinstance(header, hyperframe.frame.PingFrame) and "ACK" in header.flags:
                    acked = True
            conn.receive_data(data)
            out = conn.data_to_send()
            if out:
                sock.sendall(out)
    except h2.exceptions.ProtocolError as ex:
        report["client_error"] = str(ex)
    sock.close()
    return report


if __name__ == "__main__":
    port = int(sys.argv[1])
    scenario = sys.argv[2]
    if scenario == "conversation":
        print(json.dumps(conversation(port)))
    elif scenario == "malformed":
        print(json.dumps(malformed(port)))
    elif scenario == "after_early_answer":
        print(json.dumps(after_early_answer(port, sys.argv[3] == "reset", sys.argv[4])))
    else:
        print(json.dumps(error_case(port, sys.argv[3])))
