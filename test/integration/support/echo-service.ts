import * as grpc from '@grpc/grpc-js';
import { GatewayWorld, POLICIES, RESEARCH_BOT } from './gateway-world';

/** Pass-through (de)serializer for raw calls on the echo service. */
export const raw = (b: Buffer): Buffer => b;

const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/test.v1.Echo/${name}`,
  requestStream,
  responseStream,
  requestSerialize: raw,
  requestDeserialize: raw,
  responseSerialize: raw,
  responseDeserialize: raw,
});

/** A test upstream whose methods reveal what reached them: metadata, deadline, cancellation. */
export const echoService: grpc.ServiceDefinition = {
  Unary: method('Unary', false, false),
  Hang: method('Hang', false, false),
  Stream: method('Stream', true, true),
  Flood: method('Flood', false, true),
  Delay: method('Delay', false, false),
};
export const EchoClient = grpc.makeGenericClientConstructor(echoService, 'Echo');

export interface EchoObservations {
  metadata: grpc.Metadata[];
  deadlines: Array<grpc.Deadline>;
  cancelled: number;
  received: Buffer[];
  /** Bytes the Flood method managed to hand to its transport. */
  floodWritten: number;
  /** Delay calls that reached the upstream. */
  delayed: number;
}

export function echoImplementation(seen: EchoObservations): grpc.UntypedServiceImplementation {
  return {
    // Echoes the request; sends response metadata and a custom trailer; fails on demand.
    Unary(call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) {
      seen.metadata.push(call.metadata);
      seen.deadlines.push(call.getDeadline());
      const header = new grpc.Metadata();
      header.set('x-echo-header', 'from-upstream');
      call.sendMetadata(header);
      const trailer = new grpc.Metadata();
      trailer.set('x-echo-trailer', 'done');
      if (call.request.toString() === 'fail') {
        return done({ code: grpc.status.FAILED_PRECONDITION, details: 'upstream says no', metadata: trailer });
      }
      done(null, call.request, trailer);
    },
    // Never answers: the caller's deadline or cancellation must end it.
    Hang(call: grpc.ServerUnaryCall<Buffer, Buffer>) {
      seen.metadata.push(call.metadata);
      seen.deadlines.push(call.getDeadline());
      call.on('cancelled', () => seen.cancelled++);
    },
    // Writes 64 KiB messages as fast as the transport takes them (respecting back-pressure),
    // up to 64 MiB: how far it gets shows how much the path between buffers.
    Flood(call: grpc.ServerWritableStream<Buffer, Buffer>) {
      const chunk = Buffer.alloc(64 * 1024, 1);
      let stopped = false;
      call.on('cancelled', () => (stopped = true));
      const pump = () => {
        while (!stopped && seen.floodWritten < 64 * 1024 * 1024) {
          seen.floodWritten += chunk.length;
          if (!call.write(chunk)) return void call.once('drain', pump);
        }
        if (!stopped) call.end();
      };
      pump();
    },
    // Answers after 400 ms: an in-flight call for drain tests.
    Delay(call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) {
      seen.delayed++;
      setTimeout(() => done(null, call.request), 400);
    },
    // Echoes every message; counts what arrived.
    Stream(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
      call.on('data', (m: Buffer) => {
        seen.received.push(m);
        call.write(m);
      });
      call.on('end', () => call.end());
      call.on('cancelled', () => seen.cancelled++);
    },
  };
}

export const ECHO_POLICY = `
@id("researchers-echo")
permit (principal in AgentGroup::"researchers", action in Action::"test.v1.Echo", resource == Tool::"files");
`;

/**
 * A deployment whose files upstream also serves the echo service, a research-bot client of
 * it through the gateway, and what the upstream observed.
 */
export async function startEchoWorld(extraConfig = ''): Promise<{ world: GatewayWorld; echo: grpc.Client; seen: EchoObservations }> {
  const seen: EchoObservations = { metadata: [], deadlines: [], cancelled: 0, received: [], floodWritten: 0, delayed: 0 };
  const world = await GatewayWorld.start({
    policies: { ...POLICIES, 'echo.cedar': ECHO_POLICY },
    upstreamServices: [[echoService, echoImplementation(seen), 'test.v1.Echo']],
    extraConfig,
  });
  const echo = world.client(EchoClient, await world.spiffe.workload(RESEARCH_BOT));
  return { world, echo, seen };
}
