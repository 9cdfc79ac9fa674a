import * as grpc from '@grpc/grpc-js';
import { raw } from './support/echo-service';
import { CI_BUILDER, GatewayWorld, POLICIES, RESEARCH_BOT } from './support/gateway-world';
import { sleep, waitUntil } from './support/workload-fixtures';

const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/test.v1.Held/${name}`,
  requestStream,
  responseStream,
  requestSerialize: raw,
  requestDeserialize: raw,
  responseSerialize: raw,
  responseDeserialize: raw,
});

/** A test upstream whose calls can be held open, and which counts what reached it. */
const heldService: grpc.ServiceDefinition = {
  Unary: method('Unary', false, false),
  Forbidden: method('Forbidden', false, false),
  Hang: method('Hang', false, false),
  Upload: method('Upload', true, false),
  Watch: method('Watch', false, true),
  Flood: method('Flood', false, true),
  Chat: method('Chat', true, true),
};
const HeldClient = grpc.makeGenericClientConstructor(heldService, 'Held');

interface Seen {
  /** Calls that reached the upstream, by method. */
  opened: Record<string, number>;
  /** Calls the upstream saw cancelled, by method. */
  cancelled: Record<string, number>;
  /** Uploads the upstream answered or saw cancelled. */
  uploadsEnded: number;
  /** The per-call JWT's `iat` of each Upload, and when the upstream received it. */
  uploadTokens: Array<{ iat: number; at: number }>;
}

function heldImplementation(seen: Seen): grpc.UntypedServiceImplementation {
  const opened = (name: string, call: { on(event: 'cancelled', listener: () => void): unknown }) => {
    seen.opened[name] = (seen.opened[name] ?? 0) + 1;
    call.on('cancelled', () => (seen.cancelled[name] = (seen.cancelled[name] ?? 0) + 1));
  };
  return {
    // Echoes the request; fails on demand.
    Unary(call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) {
      opened('Unary', call);
      if (call.request.toString() === 'fail') return done({ code: grpc.status.FAILED_PRECONDITION, details: 'upstream says no' });
      done(null, call.request);
    },
    // Denied by policy: never reached.
    Forbidden(call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) {
      opened('Forbidden', call);
      done(null, call.request);
    },
    // Never answers.
    Hang(call: grpc.ServerUnaryCall<Buffer, Buffer>) {
      opened('Hang', call);
    },
    // Answers with the number of messages once the caller half-closes.
    Upload(call: grpc.ServerReadableStream<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) {
      opened('Upload', call);
      const token = String(call.metadata.get('authorization')[0] ?? '').split('.')[1];
      if (token) seen.uploadTokens.push({ iat: JSON.parse(Buffer.from(token, 'base64url').toString()).iat, at: Date.now() });
      let n = 0;
      let ended = false;
      const end = () => void (ended || ((ended = true), seen.uploadsEnded++));
      call.on('cancelled', end);
      call.on('data', () => n++);
      call.on('end', () => {
        end();
        done(null, Buffer.from(String(n)));
      });
    },
    // Sends its response headers, then nothing.
    Watch(call: grpc.ServerWritableStream<Buffer, Buffer>) {
      opened('Watch', call);
      call.sendMetadata(new grpc.Metadata());
    },
    // Writes 64 KiB messages for as long as the transport takes them.
    Flood(call: grpc.ServerWritableStream<Buffer, Buffer>) {
      opened('Flood', call);
      const chunk = Buffer.alloc(64 * 1024, 1);
      let stopped = false;
      call.on('cancelled', () => (stopped = true));
      const pump = () => {
        while (!stopped) if (!call.write(chunk)) return void call.once('drain', pump);
      };
      pump();
    },
    // Echoes every message.
    Chat(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
      opened('Chat', call);
      call.on('data', (m: Buffer) => call.write(m));
      call.on('end', () => call.end());
    },
  };
}

const HELD_POLICY = `
@id("held-for-researchers-and-ci")
permit (principal, action in Action::"test.v1.Held", resource == Tool::"files")
when { principal in AgentGroup::"researchers" || principal in AgentGroup::"ci" };

@id("held-forbidden")
forbid (principal, action == Action::"test.v1.Held/Forbidden", resource);
`;

type HeldClientT = grpc.Client;

async function startWorld(extraConfig: string): Promise<{ world: GatewayWorld; seen: Seen; bot: HeldClientT; ci: HeldClientT }> {
  const seen: Seen = { opened: {}, cancelled: {}, uploadsEnded: 0, uploadTokens: [] };
  const world = await GatewayWorld.start({
    policies: { ...POLICIES, 'held.cedar': HELD_POLICY },
    upstreamServices: [[heldService, heldImplementation(seen), 'test.v1.Held']],
    extraConfig,
  });
  const bot = world.client(HeldClient, await world.spiffe.workload(RESEARCH_BOT));
  const ci = world.client(HeldClient, await world.spiffe.workload(CI_BUILDER));
  return { world, seen, bot, ci };
}

function unary(client: grpc.Client, name: string, body = 'x'): Promise<Buffer> {
  return new Promise((resolve, reject) => client.makeUnaryRequest(`/test.v1.Held/${name}`, raw, raw, Buffer.from(body), (e, r) => (e ? reject(e) : resolve(r!))));
}

/** A call's final status, whatever it is. */
function statusOf(
  call: grpc.ClientUnaryCall | grpc.ClientReadableStream<Buffer> | grpc.ClientWritableStream<Buffer> | grpc.ClientDuplexStream<Buffer, Buffer>,
): Promise<grpc.StatusObject> {
  return new Promise((resolve) => call.on('status', resolve));
}

/** A unary call left hanging at the upstream; its callback sees the final status. */
function hang(client: grpc.Client): { call: grpc.ClientUnaryCall; status: Promise<grpc.ServiceError | null> } {
  let settle!: (e: grpc.ServiceError | null) => void;
  const status = new Promise<grpc.ServiceError | null>((resolve) => (settle = resolve));
  const call = client.makeUnaryRequest('/test.v1.Held/Hang', raw, raw, Buffer.from('x'), (e) => settle(e));
  return { call, status };
}

const opened = (seen: Seen, name: string) => seen.opened[name] ?? 0;
const cancelled = (seen: Seen, name: string) => seen.cancelled[name] ?? 0;

describe('per-caller call limit and lazily opened upstream streams', () => {
  let world: GatewayWorld;
  let seen: Seen;
  let bot: HeldClientT;
  let ci: HeldClientT;

  beforeAll(async () => {
    ({ world, seen, bot, ci } = await startWorld('limits:\n  perCaller:\n    maxConcurrentCalls: 4\ncredentials:\n  upstreamTokenTtlSeconds: 1\n'));
  });
  afterAll(() => world.close());

  it("refuses a caller's calls past its cap with RESOURCE_EXHAUSTED, while another caller's calls succeed; ended calls free their slots", async () => {
    const refusalsBefore = await world.metric('toolgate_guard_refusals_total', { grpc_status: String(grpc.status.RESOURCE_EXHAUSTED) });
    const held = [hang(bot), hang(bot), hang(bot), hang(bot)];
    await waitUntil(() => opened(seen, 'Hang') === 4, 10_000);

    const extra = await Promise.all([unary(bot, 'Unary').catch((e: grpc.ServiceError) => e), unary(bot, 'Unary').catch((e: grpc.ServiceError) => e)]);
    for (const e of extra) {
      expect(e).toBeInstanceOf(Error);
      expect((e as grpc.ServiceError).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect((e as grpc.ServiceError).details).toMatch(/^resource exhausted \(decision [\w-]+\)$/);
    }
    expect(opened(seen, 'Unary')).toBe(0);
    const refused = world.decisions.lines.filter((l) => l.caller === RESEARCH_BOT && l.decision === 'deny' && String(l.reason).includes('limits.perCaller.maxConcurrentCalls'));
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatchObject({ principal: 'Agent::"research-bot"', action: 'test.v1.Held/Unary', resource: 'files' });
    expect(await world.metric('toolgate_guard_refusals_total', { grpc_status: String(grpc.status.RESOURCE_EXHAUSTED) })).toBe(refusalsBefore + 2);

    // Another caller of the same tool is not starved: its whole cap at once, twice.
    for (const round of [0, 1]) {
      const replies = await Promise.all([0, 1, 2, 3].map((i) => unary(ci, 'Unary', `ci-${round}-${i}`)));
      expect(replies.map(String)).toEqual([0, 1, 2, 3].map((i) => `ci-${round}-${i}`));
    }

    // The held calls end (cancelled by the caller): their slots come back, all of them.
    for (const h of held) h.call.cancel();
    await waitUntil(() => cancelled(seen, 'Hang') === 4, 10_000);
    for (const h of held) expect((await h.status)?.code).toBe(grpc.status.CANCELLED);
    const again = [hang(bot), hang(bot), hang(bot), hang(bot)];
    await waitUntil(() => opened(seen, 'Hang') === 8, 10_000);
    await expect(unary(bot, 'Unary')).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    for (const h of again) h.call.cancel();
    await waitUntil(() => cancelled(seen, 'Hang') === 8, 10_000);
  });

  it('frees the slot of a call however it ends: completed, failed, denied by policy, refused at the cap', async () => {
    for (let i = 0; i < 10; i++) {
      await expect(unary(bot, 'Unary', `ok-${i}`)).resolves.toEqual(Buffer.from(`ok-${i}`));
      await expect(unary(bot, 'Unary', 'fail')).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
      await expect(unary(bot, 'Forbidden')).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    }
    expect(opened(seen, 'Forbidden')).toBe(0);
    // Still the whole cap: four held calls reach the upstream.
    const base = opened(seen, 'Hang');
    const held = [hang(bot), hang(bot), hang(bot), hang(bot)];
    await waitUntil(() => opened(seen, 'Hang') === base + 4, 10_000);
    // Refusals at the cap take no slot either.
    for (let i = 0; i < 5; i++) await expect(unary(bot, 'Unary')).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    const cancelledBase = cancelled(seen, 'Hang');
    for (const h of held) h.call.cancel();
    await waitUntil(() => cancelled(seen, 'Hang') === cancelledBase + 4, 10_000);
    await expect(unary(bot, 'Unary', 'after')).resolves.toEqual(Buffer.from('after'));
  });

  it('opens no upstream stream for a client stream until it sends or half-closes', async () => {
    const uploads = [0, 1, 2].map(() => {
      const status = { done: undefined as Promise<Buffer> | undefined, call: undefined as unknown as grpc.ClientWritableStream<Buffer> };
      status.done = new Promise<Buffer>((resolve, reject) => {
        status.call = bot.makeClientStreamRequest('/test.v1.Held/Upload', raw, raw, (e, r) => (e ? reject(e) : resolve(r!)));
      });
      status.done.catch(() => {});
      return status;
    });
    // A later call on the same connection has been through the gateway and reached the
    // upstream: the three uploads' headers were handled before it.
    await expect(unary(bot, 'Unary', 'later')).resolves.toEqual(Buffer.from('later'));
    expect(opened(seen, 'Upload')).toBe(0);

    // At its first byte, a call opens its upstream stream, with a per-call JWT minted then
    // (its 1 s lifetime starts when the upstream stream opens, not when the call did).
    const headersAt = Date.now();
    await sleep(2500);
    uploads[0].call.write(Buffer.from('one'));
    await waitUntil(() => opened(seen, 'Upload') === 1, 10_000);
    expect(seen.uploadTokens[0].iat * 1000).toBeGreaterThanOrEqual(headersAt + 1000);
    uploads[0].call.end();
    await expect(uploads[0].done).resolves.toEqual(Buffer.from('1'));
    // At a half-close without a message, too.
    uploads[1].call.end();
    await expect(uploads[1].done).resolves.toEqual(Buffer.from('0'));
    expect(opened(seen, 'Upload')).toBe(2);
    // A caller that goes away before sending leaves nothing open upstream (grpc-js half-closes
    // before it resets, so the upstream may see the call begin, and then its cancel).
    uploads[2].call.cancel();
    await expect(uploads[2].done).rejects.toMatchObject({ code: grpc.status.CANCELLED });
    await waitUntil(() => seen.uploadsEnded === opened(seen, 'Upload'), 10_000);
  });
});

describe('idle streams', () => {
  let world: GatewayWorld;
  let seen: Seen;
  let bot: HeldClientT;

  beforeAll(async () => {
    ({ world, seen, bot } = await startWorld('limits:\n  streamIdleSeconds: 2\n  perCaller:\n    maxConcurrentCalls: 2\n'));
  });
  afterAll(() => world.close());

  it('ends a call on which nothing moved for limits.streamIdleSeconds with UNAVAILABLE; the upstream sees a cancel', async () => {
    const { status } = hang(bot);
    const err = await status;
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(err?.details).toMatch(/^unavailable \(decision \S+\)$/);
    await waitUntil(() => cancelled(seen, 'Hang') === 1, 10_000);
  });

  it('ends an idle server stream after its response headers the same way', async () => {
    const call = bot.makeServerStreamRequest('/test.v1.Held/Watch', raw, raw, Buffer.from('x'));
    call.on('data', () => {});
    call.on('error', () => {});
    const status = await statusOf(call);
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    await waitUntil(() => cancelled(seen, 'Watch') === 1, 10_000);
  });

  it('keeps a call that keeps sending, past the idle time', async () => {
    const call = bot.makeBidiStreamRequest('/test.v1.Held/Chat', raw, raw);
    const echoed: string[] = [];
    call.on('data', (m: Buffer) => echoed.push(m.toString()));
    call.on('error', () => {});
    const status = statusOf(call);
    for (let i = 0; i < 20; i++) {
      call.write(Buffer.from(`m${i}`));
      await sleep(200); // 4 s in all, twice the idle time; never 2 s quiet
    }
    call.end();
    expect((await status).code).toBe(grpc.status.OK);
    expect(echoed).toHaveLength(20);
  });

  it('ends a stream whose caller stopped reading, and gives the caller its slots back', async () => {
    const calls = [0, 1].map(() => {
      const call = bot.makeServerStreamRequest('/test.v1.Held/Flood', raw, raw, Buffer.from('x'));
      call.once('data', () => call.pause()); // read one message, then stop reading
      call.on('error', () => {});
      return call;
    });
    await waitUntil(() => cancelled(seen, 'Flood') === 2, 15_000);
    // Both slots come back although the caller never read the rest (its streams are reset).
    let reply: Buffer | undefined;
    for (let i = 0; i < 50 && reply === undefined; i++) {
      reply = await unary(bot, 'Unary', 'back').catch(async (e: grpc.ServiceError) => {
        expect(e.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
        await sleep(200);
        return undefined;
      });
    }
    expect(reply).toEqual(Buffer.from('back'));
    await expect(Promise.all([unary(bot, 'Unary', 'a'), unary(bot, 'Unary', 'b')])).resolves.toEqual([Buffer.from('a'), Buffer.from('b')]);
    for (const c of calls) c.cancel();
  });
});
