#!/usr/bin/python3
"""Debian's python3-grpcio as a client of Hyperion.Grpc (Hyperion.Tests/Grpc/Interop/OtherStackClientTests.cs).

Nothing is generated: the messages come from the FileDescriptorSet the test writes from samples/GrpcInterop's
compiled protos, and the calls go through grpcio's generic multi-callables on the method paths. It runs unary,
server-streaming and bidi calls (with compression both ways) and prints what it saw as one JSON object; the C# test asserts on it.

usage: interop_client.py DESCRIPTORS PORT [CA_PEM]   (with CA_PEM: TLS, the server's name taken as localhost)
"""
import json
import sys
import threading

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

SERVICE = "/grpc.testing.TestService/"


def load_messages(path):
    with open(path, "rb") as f:
        files = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for proto in files.file:  # dependencies first, as the test writes them
        pool.Add(proto)
    factory = message_factory.MessageFactory(pool)
    return lambda name: factory.GetPrototype(pool.FindMessageTypeByName("grpc.testing." + name))


def status_of(error):
    return {"code": error.code().value[0], "details": error.details()}


def main():
    descriptors, port = sys.argv[1], int(sys.argv[2])
    message = load_messages(descriptors)
    SimpleRequest, SimpleResponse = message("SimpleRequest"), message("SimpleResponse")
    OutRequest, OutResponse = message("StreamingOutputCallRequest"), message("StreamingOutputCallResponse")

    if len(sys.argv) > 3:
        with open(sys.argv[3], "rb") as f:
            credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
        channel = grpc.secure_channel(f"127.0.0.1:{port}", credentials, options=(("grpc.ssl_target_name_override", "localhost"),))
    else:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")

    unary = channel.unary_unary(SERVICE + "UnaryCall", request_serializer=SimpleRequest.SerializeToString, response_deserializer=SimpleResponse.FromString)
    server_stream = channel.unary_stream(SERVICE + "StreamingOutputCall", request_serializer=OutRequest.SerializeToString, response_deserializer=OutResponse.FromString)
    bidi = channel.stream_stream(SERVICE + "FullDuplexCall", request_serializer=OutRequest.SerializeToString, response_deserializer=OutResponse.FromString)
    missing = channel.unary_unary("/grpc.testing.UnimplementedService/UnimplementedCall", request_serializer=lambda _: b"", response_deserializer=lambda b: b)
    result = {}

    # Unary: a large message each way, with the echo metadata; then an echoed error status.
    request = SimpleRequest(response_size=314159)
    request.payload.body = bytes(271828)
    response, call = unary.with_call(request, timeout=10, metadata=(("x-grpc-test-echo-initial", "from python"), ("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab")))
    result["unary"] = {
        "size": len(response.payload.body),
        "zeros": response.payload.body == bytes(len(response.payload.body)),
        "code": call.code().value[0],
        "initial": [v for k, v in call.initial_metadata() if k == "x-grpc-test-echo-initial"],
        "trailing": [v.hex() for k, v in call.trailing_metadata() if k == "x-grpc-test-echo-trailing-bin"],
    }
    error_request = SimpleRequest()
    error_request.response_status.code = 2
    error_request.response_status.message = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"
    try:
        unary(error_request, timeout=10)
        result["unary_error"] = {"code": 0}
    except grpc.RpcError as e:
        result["unary_error"] = status_of(e)

    # Compression: a message that says it is compressed must be (the probe is refused with INVALID_ARGUMENT), one sent
    # with gzip is accepted; responses the server is asked to compress decode here.
    compressed_request = SimpleRequest(response_size=1000)
    compressed_request.expect_compressed.value = True
    compressed_request.payload.body = bytes(271828)
    try:
        unary(compressed_request, timeout=10)
        result["compressed_probe"] = {"code": 0}
    except grpc.RpcError as e:
        result["compressed_probe"] = status_of(e)
    response = unary(compressed_request, timeout=10, compression=grpc.Compression.Gzip)
    result["client_compressed"] = {"size": len(response.payload.body)}
    compressed_response = SimpleRequest(response_size=314159)
    compressed_response.response_compressed.value = True
    response = unary(compressed_response, timeout=10)
    compressed_stream = OutRequest()
    compressed_stream.response_parameters.add(size=31415).compressed.value = True
    compressed_stream.response_parameters.add(size=92653).compressed.value = False
    result["server_compressed"] = {
        "size": len(response.payload.body),
        "zeros": response.payload.body == bytes(len(response.payload.body)),
        "stream_sizes": [len(r.payload.body) for r in server_stream(compressed_stream, timeout=10)],
    }

    # Server streaming: four sizes in order, then OK.
    request = OutRequest()
    for size in (31415, 9, 2653, 58979):
        request.response_parameters.add(size=size)
    responses = server_stream(request, timeout=10)
    result["server_streaming"] = {"sizes": [len(r.payload.body) for r in responses], "code": responses.code().value[0]}

    # Bidi ping-pong: each request is sent only after the previous one's reply arrived. grpcio pulls the request
    # iterator on its own thread, so the generator waits on a semaphore the reading loop releases.
    sizes = ((31415, 27182), (9, 8), (2653, 1828), (58979, 45904))
    received = []
    replied = threading.Semaphore(0)

    def ping_pong_requests():
        for response_size, request_size in sizes:
            r = OutRequest()
            r.response_parameters.add(size=response_size)
            r.payload.body = bytes(request_size)
            yield r
            if not replied.acquire(timeout=10):
                return

    stream = bidi(ping_pong_requests(), timeout=10)
    for reply in stream:
        received.append(len(reply.payload.body))
        replied.release()
    result["bidi"] = {"sizes": received, "code": stream.code().value[0]}

    # Bidi with an echoed status: the call ends with it and no response.
    status_request = OutRequest()
    status_request.response_status.code = 2
    status_request.response_status.message = "test status message"
    try:
        list(bidi(iter([status_request]), timeout=10))
        result["bidi_error"] = {"code": 0}
    except grpc.RpcError as e:
        result["bidi_error"] = status_of(e)

    # More calls at once than SETTINGS_MAX_CONCURRENT_STREAMS (100): each new stream takes a slot as soon as the client
    # has read the END_STREAM of an earlier one, and none may be refused.
    many = SimpleRequest(response_size=65536)
    many.payload.body = bytes(65536)
    futures = [unary.future(many, timeout=20) for _ in range(200)]
    outcomes = {}
    for future in futures:
        try:
            key = "ok" if len(future.result().payload.body) == 65536 else "short"
        except grpc.RpcError as e:
            key = f"{e.code().name}: {e.details()}"
        outcomes[key] = outcomes.get(key, 0) + 1
    result["concurrent"] = outcomes

    try:
        missing(b"", timeout=10)
        result["unimplemented_service"] = {"code": 0}
    except grpc.RpcError as e:
        result["unimplemented_service"] = status_of(e)

    channel.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
