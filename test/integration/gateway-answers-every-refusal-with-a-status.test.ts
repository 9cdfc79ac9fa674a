import { GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { grpcFrame, grpcRequestHeaders, rawCaller, rawOutcome, type RawConnection, type RawConnectOptions, type ReceivedFrame } from './support/raw-h2-caller';

const TRIES = 50;
const READ_FILE_X = grpcFrame(Buffer.from([0x0a, 0x01, 0x78])); // ReadFileRequest { path: "x" }

type Connect = (options?: RawConnectOptions) => RawConnection;

/** What the caller saw of one call: its gRPC status, and the frames of its stream. */
async function callOnFreshConnection(connect: Connect, path: string): Promise<{ grpcStatus?: string; frames: string }> {
  const { session, received } = connect({ holdUntilFirstRequestEnds: true });
  try {
    // HEADERS, then DATA with END_STREAM, sent in one write with the connection preface.
    const stream = session.request(grpcRequestHeaders(path), { endStream: false });
    stream.end(READ_FILE_X);
    const { grpcStatus } = await rawOutcome(stream);
    // Whatever the gateway sent on the stream after it has reached us before the answer to
    // a second PING (the first answer may share a write with it).
    await ping(session);
    await ping(session);
    return { grpcStatus, frames: frameList(received) };
  } finally {
    session.destroy();
  }
}

function ping(session: RawConnection['session']): Promise<void> {
  return new Promise((resolve, reject) => session.ping((err) => (err ? reject(err) : resolve())));
}

function frameList(frames: ReceivedFrame[]): string {
  return frames.map((f) => (f.type === 'RST_STREAM' ? `RST_STREAM(${f.code})` : `${f.type}${f.endStream ? '+END_STREAM' : ''}`)).join(' ');
}

/**
 * TRIES calls, each on a fresh connection with the whole request in one write: every one
 * must get `status` in a trailers-only response, and no RST_STREAM, since its request
 * had ended (a reset there is what let Node drop the response, leaving a bare reset).
 */
async function expectStatusEveryTime(connect: Connect, path: string, status: string): Promise<void> {
  const outcomes = new Map<string, number>();
  for (let i = 0; i < TRIES; i++) {
    const { grpcStatus, frames } = await callOnFreshConnection(connect, path);
    const key = `grpc-status ${grpcStatus ?? 'none'}: ${frames}`;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  }
  expect(Object.fromEntries(outcomes)).toEqual({ [`grpc-status ${status}: HEADERS+END_STREAM`]: TRIES });
}

describe('every refusal reaches the caller as a gRPC status, never as a reset', () => {
  let world: GatewayWorld;
  let connect: Connect;
  beforeAll(async () => {
    world = await GatewayWorld.start();
    connect = await rawCaller(world, RESEARCH_BOT);
  });
  afterAll(() => world.close());

  it('a policy denial: PERMISSION_DENIED', async () => {
    await expectStatusEveryTime(connect, '/tools.files.v1.Files/WriteFile', '7');
  });

  it('an unknown service: UNIMPLEMENTED', async () => {
    await expectStatusEveryTime(connect, '/no.such.v1.Service/Call', '12');
  });

  it('a caller still sending after the refusal gets the status, then a reset that ends its stream', async () => {
    const { session } = connect();
    try {
      for (let i = 0; i < 10; i++) {
        const stream = session.request(grpcRequestHeaders('/tools.files.v1.Files/WriteFile'), { endStream: false });
        stream.write(READ_FILE_X); // and never ends its request
        const outcome = await rawOutcome(stream); // resolves once the stream has closed
        expect(outcome.grpcStatus).toBe('7');
      }
    } finally {
      session.destroy();
    }
  });
});

describe('a refusal decided after an await (rate limit) reaches the caller as a gRPC status', () => {
  let world: GatewayWorld;
  let connect: Connect;
  beforeAll(async () => {
    world = await GatewayWorld.start({ extraConfig: 'limits:\n  agentRate: { perSecond: 0.001, burst: 1 }\n' });
    connect = await rawCaller(world, RESEARCH_BOT);
    await callOnFreshConnection(connect, '/tools.files.v1.Files/ReadFile'); // spends the one token
  });
  afterAll(() => world.close());

  it('RESOURCE_EXHAUSTED', async () => {
    await expectStatusEveryTime(connect, '/tools.files.v1.Files/ReadFile', '8');
  });
});
