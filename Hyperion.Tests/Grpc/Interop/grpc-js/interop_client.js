// @grpc/grpc-js as a client of Hyperion.Grpc (Hyperion.Tests/Grpc/Interop/OtherStackClientTests.cs). The service and
// messages come from samples/GrpcInterop's .proto files through @grpc/proto-loader at run time. It runs unary,
// server-streaming and bidi calls and prints what it saw as one JSON object; the C# test asserts on it.
//
// usage: node interop_client.js PROTOS_DIR PORT [CA_PEM]   (with CA_PEM: TLS, the server's name taken as localhost)
'use strict';

const fs = require('fs');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [protosDir, port, caPem] = process.argv.slice(2);
const definition = protoLoader.loadSync('test.proto', { includeDirs: [protosDir], keepCase: true, defaults: true });
const testing = grpc.loadPackageDefinition(definition).grpc.testing;

const credentials = caPem ? grpc.credentials.createSsl(fs.readFileSync(caPem)) : grpc.credentials.createInsecure();
const options = caPem ? { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' } : {};
const client = new testing.TestService(`127.0.0.1:${port}`, credentials, options);
const unimplemented = new testing.UnimplementedService(`127.0.0.1:${port}`, credentials, options);
// The same service with every request message gzip-compressed (grpc-js compresses per channel, 2 = gzip).
const compressing = new testing.TestService(`127.0.0.1:${port}`, credentials, { ...options, 'grpc.default_compression_algorithm': 2 });
const deadline = () => new Date(Date.now() + 10000);
const isZeros = (buffer) => buffer.every((b) => b === 0);
const statusOf = (error) => ({ code: error.code, details: error.details });

function unaryCall(request, metadata, on = client) {
  return new Promise((resolve) => {
    const seen = { initial: [], trailing: [] };
    const call = on.UnaryCall(request, metadata ?? new grpc.Metadata(), { deadline: deadline() }, (error, response) => {
      seen.error = error;
      seen.response = response;
    });
    call.on('metadata', (m) => { seen.initial = m.get('x-grpc-test-echo-initial'); });
    call.on('status', (status) => {
      seen.code = status.code;
      seen.details = status.details;
      seen.trailing = status.metadata.get('x-grpc-test-echo-trailing-bin').map((b) => b.toString('hex'));
      resolve(seen);
    });
  });
}

function serverStreaming(parameters) {
  return new Promise((resolve) => {
    const received = [];
    const call = client.StreamingOutputCall({ response_parameters: parameters }, { deadline: deadline() });
    call.on('data', (r) => received.push(r.payload.body.length));
    call.on('error', () => {});
    call.on('status', (status) => resolve({ sizes: received, code: status.code }));
  });
}

// Each request is written only after the previous one's reply arrived; then the half-close.
function pingPong(steps) {
  return new Promise((resolve) => {
    const received = [];
    const call = client.FullDuplexCall({ deadline: deadline() });
    const send = (i) => call.write({ response_parameters: [{ size: steps[i][0] }], payload: { body: Buffer.alloc(steps[i][1]) } });
    call.on('data', (r) => {
      received.push(r.payload.body.length);
      if (received.length < steps.length) {
        send(received.length);
      } else {
        call.end();
      }
    });
    call.on('error', () => {});
    call.on('status', (status) => resolve({ sizes: received, code: status.code }));
    send(0);
  });
}

function bidiStatus(code, message) {
  return new Promise((resolve) => {
    let responses = 0;
    const call = client.FullDuplexCall({ deadline: deadline() });
    call.on('data', () => { responses++; });
    call.on('error', () => {});
    call.on('status', (status) => resolve({ code: status.code, details: status.details, responses }));
    call.write({ response_status: { code, message } });
    call.end();
  });
}

async function main() {
  const result = {};
  const metadata = new grpc.Metadata();
  metadata.set('x-grpc-test-echo-initial', 'from grpc-js');
  metadata.set('x-grpc-test-echo-trailing-bin', Buffer.from([0xab, 0xab, 0xab]));
  const unary = await unaryCall({ response_size: 314159, payload: { body: Buffer.alloc(271828) } }, metadata);
  result.unary = {
    size: unary.response ? unary.response.payload.body.length : -1,
    zeros: unary.response ? isZeros(unary.response.payload.body) : false,
    code: unary.code,
    initial: unary.initial,
    trailing: unary.trailing,
  };
  const special = '\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \u{1f608}\t\n';
  const failed = await unaryCall({ response_status: { code: 2, message: special } });
  result.unary_error = { code: failed.code, details: failed.details };
  // Compression: a message that says it is compressed must be (the probe is refused with INVALID_ARGUMENT), one sent
  // with gzip is accepted; responses the server is asked to compress decode here.
  const expectCompressed = { expect_compressed: { value: true }, response_size: 1000, payload: { body: Buffer.alloc(271828) } };
  const probe = await unaryCall(expectCompressed);
  result.compressed_probe = { code: probe.code, details: probe.details };
  const sentCompressed = await unaryCall(expectCompressed, undefined, compressing);
  result.client_compressed = { size: sentCompressed.response ? sentCompressed.response.payload.body.length : -1, code: sentCompressed.code, details: sentCompressed.details };
  const compressedResponse = await unaryCall({ response_compressed: { value: true }, response_size: 314159 });
  const compressedStream = await serverStreaming([{ size: 31415, compressed: { value: true } }, { size: 92653, compressed: { value: false } }]);
  result.server_compressed = {
    size: compressedResponse.response ? compressedResponse.response.payload.body.length : -1,
    zeros: compressedResponse.response ? isZeros(compressedResponse.response.payload.body) : false,
    stream_sizes: compressedStream.sizes,
  };
  result.server_streaming = await serverStreaming([31415, 9, 2653, 58979].map((size) => ({ size })));
  result.bidi = await pingPong([[31415, 27182], [9, 8], [2653, 1828], [58979, 45904]]);
  result.bidi_error = await bidiStatus(2, 'test status message');
  // More calls at once than SETTINGS_MAX_CONCURRENT_STREAMS (100): each new stream takes a slot as soon as the client
  // has read the END_STREAM of an earlier one, and none may be refused.
  const many = await Promise.all([...Array(200)].map(() => unaryCall({ response_size: 65536, payload: { body: Buffer.alloc(65536) } })));
  result.concurrent = {};
  for (const call of many) {
    const key = call.code === 0 ? (call.response.payload.body.length === 65536 ? 'ok' : 'short') : `${call.code}: ${call.details}`;
    result.concurrent[key] = (result.concurrent[key] || 0) + 1;
  }
  result.unimplemented_service = await new Promise((resolve) => {
    unimplemented.UnimplementedCall({}, { deadline: deadline() }, (error) => resolve(error ? statusOf(error) : { code: 0 }));
  });
  client.close();
  compressing.close();
  unimplemented.close();
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
