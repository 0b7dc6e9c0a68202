#!/usr/bin/python3
"""A grpcurl-style reflection client on Debian's python3-grpcio (Hyperion.Tests/Grpc/GrpcReflectionTests.cs).

It knows no service in advance. From the reflection service alone it lists the services (v1 and v1alpha), fetches
each service's file descriptor and the files it imports (file_containing_symbol, file_by_filename), builds the
message types from them, describes every method and calls one unary method with a request built from the reflected
types, as `grpcurl list`, `grpcurl describe` and `grpcurl -d '{...}' host Service/Method` do. Prints one JSON object.

usage: reflection_client.py REFLECTION_PROTOSET PORT UNARY_METHOD FIELD VALUE [CA_PEM]
  REFLECTION_PROTOSET: the FileDescriptorSet of grpc/reflection/v1 and v1alpha's reflection.proto (the test writes it)
  UNARY_METHOD: package.Service/Method to call; FIELD VALUE: one string field of its request
"""
import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory


def reflection_types(path, package):
    with open(path, "rb") as f:
        files = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for proto in files.file:
        pool.Add(proto)
    factory = message_factory.MessageFactory(pool)
    get = lambda name: factory.GetPrototype(pool.FindMessageTypeByName(package + "." + name))
    return get("ServerReflectionRequest"), get("ServerReflectionResponse")


class Reflection:
    def __init__(self, channel, package, types):
        self.request, self.response = types
        self.call = channel.stream_stream(
            "/" + package + ".ServerReflection/ServerReflectionInfo",
            request_serializer=self.request.SerializeToString,
            response_deserializer=self.response.FromString,
        )

    def ask(self, **fields):
        answers = list(self.call(iter([self.request(**fields)]), timeout=10))
        assert len(answers) == 1, answers
        answer = answers[0]
        if answer.WhichOneof("message_response") == "error_response":
            raise LookupError(answer.error_response.error_message)
        return answer

    def services(self):
        return sorted(s.name for s in self.ask(list_services="").list_services_response.service)

    def files_for(self, symbol):
        """The file defining symbol and, transitively, every file it imports, as grpcurl resolves them."""
        protos, pending = {}, []
        for raw in self.ask(file_containing_symbol=symbol).file_descriptor_response.file_descriptor_proto:
            pending.append(descriptor_pb2.FileDescriptorProto.FromString(raw))
        while pending:
            proto = pending.pop()
            if proto.name in protos:
                continue
            protos[proto.name] = proto
            for dep in proto.dependency:
                if dep not in protos:
                    for raw in self.ask(file_by_filename=dep).file_descriptor_response.file_descriptor_proto:
                        pending.append(descriptor_pb2.FileDescriptorProto.FromString(raw))
        return protos


def add_in_order(pool, protos):
    added = set()

    def add(name):
        if name in added:
            return
        for dep in protos[name].dependency:
            add(dep)
        pool.Add(protos[name])
        added.add(name)

    for name in protos:
        add(name)


def main():
    protoset, port, method, field, value = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    if len(sys.argv) > 6:
        with open(sys.argv[6], "rb") as f:
            credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
        channel = grpc.secure_channel(f"127.0.0.1:{port}", credentials, options=(("grpc.ssl_target_name_override", "localhost"),))
    else:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")

    v1 = Reflection(channel, "grpc.reflection.v1", reflection_types(protoset, "grpc.reflection.v1"))
    v1alpha = Reflection(channel, "grpc.reflection.v1alpha", reflection_types(protoset, "grpc.reflection.v1alpha"))
    result = {"services": v1.services(), "services_v1alpha": v1alpha.services(), "describe": {}}

    # describe: every service's methods, with their streaming shape and message types, from reflection only.
    pool = descriptor_pool.DescriptorPool()
    protos = {}
    for service in result["services"]:
        protos.update(v1.files_for(service))
    add_in_order(pool, protos)
    for service in result["services"]:
        descriptor = pool.FindServiceByName(service)
        result["describe"][service] = {
            m.name: {
                "input": m.input_type.full_name,
                "output": m.output_type.full_name,
                "client_streaming": m.client_streaming,
                "server_streaming": m.server_streaming,
            }
            for m in descriptor.methods
        }

    try:
        v1.ask(file_containing_symbol="no.such.Symbol")
        result["unknown_symbol"] = "found"
    except LookupError as error:
        result["unknown_symbol"] = str(error)

    # invoke: the request and reply types come from the reflected descriptors.
    service_name, method_name = method.split("/")
    m = pool.FindServiceByName(service_name).FindMethodByName(method_name)
    factory = message_factory.MessageFactory(pool)
    Request, Reply = factory.GetPrototype(m.input_type), factory.GetPrototype(m.output_type)
    call = channel.unary_unary("/" + method, request_serializer=Request.SerializeToString, response_deserializer=Reply.FromString)
    reply = call(json_format.ParseDict({field: value}, Request()), timeout=10)
    result["invoke"] = json_format.MessageToDict(reply)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
