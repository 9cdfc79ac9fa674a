import type * as grpc from '@grpc/grpc-js';
import { ToolServer } from '../../src/examples/tool-server';
import { authorizeOneOf } from '../../src/spiffe/tls/authorizer';
import { X509Source } from '../../src/spiffe/workload/x509-source';
import { requireEnv, runChild } from './child-probe';
import { echoServiceDefinition, payload, SERVER_STREAM_MESSAGES } from './echo-service';
import { callReply, toolServiceDefinition } from './tool-service';

/**
 * Child process: the upstream tool service of every topology. A grpc-js server over
 * SPIFFE mTLS (the same ToolServer the examples use) answering `bench.v1.Echo` with a
 * fixed response of BENCH_PAYLOAD_BYTES (once per call or ping, `SERVER_STREAM_MESSAGES`
 * times for ServerStream) and `bench.v1.Tool` with a CallReply of about as many bytes (toolgate
 * relays it payload-aware: tool-service.ts), and accepting only the client, the forwarder and the gateway
 * (BENCH_UPSTREAM_PEERS, comma-separated SPIFFE IDs).
 * Its Workload API endpoint is SPIFFE_ENDPOINT_SOCKET. BENCH_UPSTREAM_PORT (optional) fixes its
 * port, so that the fault suite (test/faults/) can restart it where the gateway expects it.
 */
async function main(): Promise<number> {
  const response = payload(Number(requireEnv('BENCH_PAYLOAD_BYTES')), 7);
  const reply = callReply(Number(requireEnv('BENCH_PAYLOAD_BYTES')));
  const peers = requireEnv('BENCH_UPSTREAM_PEERS').split(',');
  const source = await X509Source.create({ timeoutMs: 10_000 });
  const implementation: grpc.UntypedServiceImplementation = {
    Unary: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, response),
    PingPong: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', () => call.write(response));
      call.on('end', () => call.end());
      call.on('error', () => {});
    },
    ServerStream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      for (let i = 0; i < SERVER_STREAM_MESSAGES; i++) call.write(response);
      call.end();
    },
  };
  const tool: grpc.UntypedServiceImplementation = {
    Call: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, reply),
  };
  const services: Array<[grpc.ServiceDefinition, grpc.UntypedServiceImplementation]> = [
    [echoServiceDefinition, implementation],
    [toolServiceDefinition, tool],
  ];
  const server = await ToolServer.start(source, authorizeOneOf(...peers), services, Number(process.env.BENCH_UPSTREAM_PORT ?? 0));
  return server.address.port;
}

runChild(main);
