import * as grpc from '@grpc/grpc-js';
import { spawnSync } from 'node:child_process';
import { connect, constants } from 'node:http2';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { authorizeId } from '../../src/spiffe/tls/authorizer';
import { mtlsClientOptions } from '../../src/spiffe/tls/mtls-client';
import { PROTOC } from '../support/protoc';
import { GATEWAY_ID, GatewayWorld, RESEARCH_BOT } from './support/gateway-world';

/**
 * The payload-policy bypasses found by attack (each message hex as reported): a tool's
 * protobuf parser and the gateway's decoder read the same bytes differently, so policy
 * allowed a call the tool executed as forbidden. Now each is refused or decided on exactly
 * what the tool parses, and what reaches the tool is the gateway's re-encoding of that.
 */
const PROTO = resolve(__dirname, '../fixtures/proto/attack/vault.proto');
const PROTO_DIR = resolve(__dirname, '../fixtures/proto/attack');

const POLICIES = {
  'vault.cedar': `
permit (principal in AgentGroup::"researchers", action == Action::"attack.v1.Vault/Read", resource)
when { !(context.request.path like "/secrets/*") && context.request.maxBytes <= 1048576 };
permit (principal in AgentGroup::"researchers", action == Action::"attack.v1.Vault/Upload", resource)
when { !(context.request.path like "/secrets/*") };
permit (principal in AgentGroup::"researchers", action == Action::"attack.v1.Vault/Change", resource)
when { !context.request.force };
permit (principal in AgentGroup::"researchers", action == Action::"attack.v1.Vault/Open", resource)
when { context.request has target && !(context.request.target.path like "/secrets/*") };
permit (principal in AgentGroup::"researchers", action == Action::"attack.v1.Vault/Grant", resource)
when { !context.request.labels.contains({ key: "role", value: "admin" }) };
permit (principal in AgentGroup::"researchers", action == Action::"attack.v1.Vault/Move", resource)
when { context.request has publicPath && context.request.publicPath like "/public/*" };
permit (principal in AgentGroup::"researchers", action == Action::"attack.v1.Vault/Tag", resource)
when { context.request.tag != "root" };
`,
};

const raw = (b: Buffer) => b;
// Purge: served by the tool, but not declared in vault.proto (the protos lag the tool).
const METHODS = ['Read', 'Upload', 'Change', 'Open', 'Grant', 'Move', 'Tag', 'Purge'] as const;
type Method = (typeof METHODS)[number];

/** The tool: keeps every request message's bytes as they arrived, per method. */
function vault(received: Map<Method, Buffer[]>): [grpc.ServiceDefinition, grpc.UntypedServiceImplementation, string] {
  const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of METHODS) {
    received.set(method, []);
    const requestStream = method === 'Upload';
    definition[method] = {
      path: `/attack.v1.Vault/${method}`,
      requestStream,
      responseStream: false,
      requestSerialize: raw,
      requestDeserialize: raw,
      responseSerialize: raw,
      responseDeserialize: raw,
    };
    implementation[method] = requestStream
      ? (call: grpc.ServerReadableStream<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
          call.on('data', (m: Buffer) => received.get(method)!.push(m));
          call.on('end', () => done(null, Buffer.alloc(0)));
          call.on('error', () => {});
        }
      : (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
          received.get(method)!.push(call.request);
          done(null, Buffer.alloc(0));
        };
  }
  return [definition, implementation, 'attack.v1.Vault'];
}

describe('payload policy decides on exactly what the tool parses', () => {
  let world: GatewayWorld;
  let bot: grpc.Client;
  const received = new Map<Method, Buffer[]>();

  beforeAll(async () => {
    world = await GatewayWorld.start({ policies: POLICIES, protos: true, extraProtos: [PROTO], upstreamServices: [vault(received)] });
    bot = await world.agent(RESEARCH_BOT);
  });
  afterAll(() => world.close());

  const call = (method: Method, hex: string) =>
    new Promise<{ code: grpc.status; details: string }>((done) =>
      bot.makeUnaryRequest(`/attack.v1.Vault/${method}`, raw, raw, Buffer.from(hex, 'hex'), (err) => done({ code: err?.code ?? grpc.status.OK, details: err?.details ?? '' })),
    );

  it.each([
    ['a tag wider than 32 bits hiding path "/secrets/pwn"', 'Read', '88808080100e0a0c2f736563726574732f70776e', 'field tag wider than 32 bits'],
    ['a tag wider than 32 bits hiding maxBytes 2000000', 'Read', '8880808010041080897a', 'field tag wider than 32 bits'],
    ['an overlong int32 varint hiding path "/secrets/upload"', 'Upload', '188080808080001204787912110a0f2f736563726574732f75706c6f6164', 'denied by policy'],
    ['a bool with bits above 32 (force: true)', 'Change', '308080808010', 'denied by policy'],
    ['a singular message repeated (merged: path "/secrets/x")', 'Open', '0a0c0a0a2f736563726574732f780a03120172', 'denied by policy'],
    ['a map entry with a mistyped value (role: admin)', 'Grant', '220f0a04726f6c651007120561646d696e', "map field labels's value has wire type 0, not 2"],
    ['two members of a oneof (the last one counts)', 'Move', '12092f7075626c69632f781a082f6f746865722f79', 'denied by policy'],
    ['an overlong enum varint hiding tag "root"', 'Tag', '388180808080004a0478794a064a04726f6f74', 'denied by policy'],
  ] as const)('denies %s; the tool receives nothing', async (_name, method, hex, reason) => {
    const result = await call(method, hex);
    expect(result.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(result.details).toMatch(/^permission denied \(decision \S+\)$/);
    const line = world.decisions.lines.filter((l) => l.action === `attack.v1.Vault/${method}`).at(-1)!;
    expect(line.decision).toBe('deny');
    expect(String(line.reason ?? 'denied by policy')).toContain(reason);
    expect(received.get(method)).toEqual([]);
  });

  it('relays its own canonical re-encoding of a permitted message, which protoc reads as policy did', async () => {
    // max_bytes 5 in an overlong varint, then path twice (the last counts), out of field order.
    const sent = '1085808080000a032f78780a0d2f7075626c69632f612e747874';
    expect(await call('Read', sent)).toEqual({ code: grpc.status.OK, details: '' });
    const [got] = received.get('Read')!.splice(0);
    expect(got.toString('hex')).toBe('0a0d2f7075626c69632f612e7478741005');
    if (PROTOC) expect(protocText('ReadRequest', got)).toBe(protocText('ReadRequest', Buffer.from(sent, 'hex')));
  });

  it('decides every message of a stream on its own: the hidden path in the second message ends the call before it is relayed', async () => {
    const status = new Promise<grpc.StatusObject>((done) => {
      const stream = bot.makeClientStreamRequest(`/attack.v1.Vault/Upload`, raw, raw, () => {});
      stream.on('status', done);
      stream.write(Buffer.from('0a0d2f7075626c69632f612e747874', 'hex')); // path "/public/a.txt"
      stream.write(Buffer.from('188080808080001204787912110a0f2f736563726574732f75706c6f6164', 'hex'));
      stream.end();
    });
    expect((await status).code).toBe(grpc.status.PERMISSION_DENIED);
    const messages = received.get('Upload')!.splice(0);
    expect(messages.map((m) => m.toString('hex'))).not.toContain(expect.stringContaining('2f736563726574732f'));
    const lines = world.decisions.lines.filter((l) => l.action === 'attack.v1.Vault/Upload').slice(-2);
    expect(lines.map((l) => [l.message, l.decision])).toEqual([
      [0, 'allow'],
      [1, 'deny'],
    ]);
  });

  it('reads every concatenated gzip member, and relays the message uncompressed: a tool that stops at the first member never sees these bytes', async () => {
    const first = gzipSync(Buffer.from('0a0d2f7075626c69632f612e747874', 'hex')); // path "/public/a.txt"
    const second = gzipSync(Buffer.from('0a0a2f736563726574732f78', 'hex')); // path "/secrets/x": merged, it wins
    const benign = gzipSync(Buffer.from('0a0d2f7075626c69632f612e747874', 'hex'));
    expect(await rawCall('/attack.v1.Vault/Read', Buffer.concat([first, second]), 1)).toBe(String(grpc.status.PERMISSION_DENIED));
    expect(received.get('Read')).toEqual([]);
    expect(await rawCall('/attack.v1.Vault/Read', benign, 1)).toBe(String(grpc.status.OK));
    expect(
      received
        .get('Read')!
        .splice(0)
        .map((m) => m.toString('hex')),
    ).toEqual(['0a0d2f7075626c69632f612e747874']);
  });

  it('refuses a compressed-flag byte other than 0 or 1', async () => {
    expect(await rawCall('/attack.v1.Vault/Read', Buffer.from('0a0d2f7075626c69632f612e747874', 'hex'), 2)).toBe(String(grpc.status.PERMISSION_DENIED));
    expect(world.decisions.lines.at(-1)).toMatchObject({ decision: 'deny', reason: expect.stringContaining('compressed-flag byte 2') });
    expect(received.get('Read')).toEqual([]);
  });

  /** One message framed by hand (any flag byte), gzip-encoded, over mTLS; resolves with grpc-status. */
  async function rawCall(path: string, payload: Buffer, flag: number): Promise<string | undefined> {
    const source = await world.spiffe.workload(RESEARCH_BOT);
    const tls = mtlsClientOptions(source, authorizeId(GATEWAY_ID))();
    const session = connect(`https://${world.target}`, { ...tls, servername: undefined });
    try {
      const frame = Buffer.alloc(5 + payload.length);
      frame[0] = flag;
      frame.writeUInt32BE(payload.length, 1);
      payload.copy(frame, 5);
      const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', 'grpc-encoding': 'gzip' });
      let status: string | undefined;
      stream.on('response', (h) => (status ??= h['grpc-status'] as string | undefined));
      stream.on('trailers', (t) => (status = t['grpc-status'] as string | undefined));
      stream.on('data', () => {});
      stream.end(frame);
      await new Promise((done) => stream.on('close', done));
      return status;
    } finally {
      session.close();
      if (!session.closed) session.destroy(undefined, constants.NGHTTP2_NO_ERROR);
    }
  }
});

describe('a method the protos do not declare', () => {
  it('is denied, even where a policy permits every action on the tool: its messages cannot be read', async () => {
    const received = new Map<Method, Buffer[]>();
    const world = await GatewayWorld.start({
      policies: { 'all.cedar': 'permit (principal in AgentGroup::"researchers", action, resource == Tool::"files");' },
      protos: true,
      extraProtos: [PROTO],
      upstreamServices: [vault(received)],
    });
    try {
      const bot = await world.agent(RESEARCH_BOT);
      const call = (method: Method) =>
        new Promise<grpc.status>((done) => bot.makeUnaryRequest(`/attack.v1.Vault/${method}`, raw, raw, Buffer.alloc(0), (err) => done(err?.code ?? grpc.status.OK)));
      expect(await call('Read')).toBe(grpc.status.OK);
      expect(await call('Purge')).toBe(grpc.status.PERMISSION_DENIED);
      expect(received.get('Purge')).toEqual([]);
      expect(world.decisions.lines.at(-1)).toMatchObject({
        action: 'attack.v1.Vault/Purge',
        decision: 'deny',
        reason: 'attack.v1.Vault/Purge is not declared in the protos of upstream "files"',
      });
    } finally {
      await world.close();
    }
  });
});

function protocText(type: string, bytes: Buffer): string {
  const out = spawnSync(PROTOC!, [`-I${PROTO_DIR}`, `--decode=attack.v1.${type}`, 'vault.proto'], { input: bytes, encoding: 'latin1' });
  if (out.status !== 0) throw new Error(out.stderr);
  return out.stdout;
}
