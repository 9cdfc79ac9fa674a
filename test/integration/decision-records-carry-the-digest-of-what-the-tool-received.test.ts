import * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { approvalDigest } from '../../src/approvals/approval-digest';
import { GatewayWorld, RESEARCH_BOT, unaryCall } from './support/gateway-world';
import { waitUntil } from './support/workload-fixtures';
import { mcpClient, startMcpGatewayWorld, startMcpUpstream, type McpUpstream } from './support/mcp-gateway-world';

/**
 * Every record of a decision made on a request message names that message by its digest,
 * `requestDigest: "sha256:<hex>"`, taken over exactly what the relay forwards: an auditor
 * holding what a tool received (its own log, a capture) proves which record allowed it.
 */
const PROTO = resolve(__dirname, '../fixtures/proto/attack/vault.proto');
const POLICIES = {
  'vault.cedar': `
permit (principal in AgentGroup::"researchers", action == Action::"attack.v1.Vault/Read", resource)
when { !(context.request.path like "/secrets/*") };
permit (principal in AgentGroup::"researchers", action == Action::"attack.v1.Vault/Upload", resource)
when { !(context.request.path like "/secrets/*") };
`,
};

const raw = (b: Buffer) => b;
const sha256 = (bytes: Uint8Array | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Read (unary) and Upload (client streaming), keeping every request message's bytes as they arrived. */
function vault(received: Buffer[]): [grpc.ServiceDefinition, grpc.UntypedServiceImplementation, string] {
  const method = (name: string, requestStream: boolean) => ({
    path: `/attack.v1.Vault/${name}`,
    requestStream,
    responseStream: false,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  });
  return [
    { Read: method('Read', false), Upload: method('Upload', true) },
    {
      Read: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
        received.push(call.request);
        done(null, Buffer.alloc(0));
      },
      Upload: (call: grpc.ServerReadableStream<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
        call.on('data', (m: Buffer) => received.push(m));
        call.on('end', () => done(null, Buffer.alloc(0)));
        call.on('error', () => {});
      },
    },
    'attack.v1.Vault',
  ];
}

describe('a payload-aware gRPC call: each record names the message the tool received', () => {
  let world: GatewayWorld;
  let bot: grpc.Client;
  const received: Buffer[] = [];

  beforeAll(async () => {
    world = await GatewayWorld.start({ policies: POLICIES, protos: true, extraProtos: [PROTO], upstreamServices: [vault(received)] });
    bot = await world.agent(RESEARCH_BOT);
  });
  afterAll(() => world.close());

  const unary = (hex: string) =>
    new Promise<grpc.status>((done) => bot.makeUnaryRequest('/attack.v1.Vault/Read', raw, raw, Buffer.from(hex, 'hex'), (err) => done(err?.code ?? grpc.status.OK)));

  it('unary: the allow carries sha256 of the canonical re-encoding the tool got, not of the caller bytes', async () => {
    // max_bytes 5 in an overlong varint, then path "/public/a.txt": re-encoded before it is relayed.
    const sent = '1085808080000a0d2f7075626c69632f612e747874';
    expect(await unary(sent)).toBe(grpc.status.OK);
    const [got] = received.splice(0);
    expect(got!.toString('hex')).not.toBe(sent);
    const record = world.decisions.lines.filter((l) => l.action === 'attack.v1.Vault/Read').at(-1)!;
    expect(record).toMatchObject({ decision: 'allow', requestDigest: sha256(got!) });
    expect(record.requestDigest).not.toBe(sha256(Buffer.from(sent, 'hex')));
  });

  it('unary denied: the deny names the message it refused (what would have been relayed)', async () => {
    const secret = Buffer.from('0a0a2f736563726574732f78', 'hex'); // path "/secrets/x", already canonical
    expect(await unary(secret.toString('hex'))).toBe(grpc.status.PERMISSION_DENIED);
    expect(received).toEqual([]);
    const record = world.decisions.lines.filter((l) => l.action === 'attack.v1.Vault/Read').at(-1)!;
    expect(record).toMatchObject({ decision: 'deny', requestDigest: sha256(secret) });
  });

  it('client streaming: every message has its own record with its own digest, in order', async () => {
    // The second one's part (1) in an overlong varint: what the tool gets is its re-encoding.
    const messages = ['0a0d2f7075626c69632f612e7478741203616263', '0a0d2f7075626c69632f622e747874120364656618818080808000'];
    const status = await new Promise<grpc.StatusObject>((done) => {
      const stream = bot.makeClientStreamRequest('/attack.v1.Vault/Upload', raw, raw, () => {});
      stream.on('status', done);
      for (const m of messages) stream.write(Buffer.from(m, 'hex'));
      stream.end();
    });
    expect(status.code).toBe(grpc.status.OK);
    const got = received.splice(0);
    expect(got).toHaveLength(2);
    expect(got[1]!.toString('hex')).toBe('0a0d2f7075626c69632f622e74787412036465661801');
    const records = world.decisions.lines.filter((l) => l.action === 'attack.v1.Vault/Upload');
    expect(records.map((r) => [r.message, r.decision, r.requestDigest])).toEqual([
      [0, 'allow', sha256(got[0]!)],
      [1, 'allow', sha256(got[1]!)],
    ]);
  });
});

describe('an escalated call: every record of it names its message, and the approval binds the same digest', () => {
  const READ = 'tools.files.v1.Files/ReadFile';
  let world: GatewayWorld;

  beforeAll(async () => {
    world = await GatewayWorld.start({
      policies: {
        'files.cedar': `@id("payroll-needs-approval")\n@approval("payroll-owners")\npermit (principal, action == Action::"${READ}", resource == Tool::"files") when { context.request.path like "/payroll/*" };`,
      },
      protos: true,
    });
    world.files.set('/payroll/q3.csv', Buffer.from('salaries'));
  });
  afterAll(() => world.close());

  it('escalate and allow carry one requestDigest; the approval digest is recomputed from the record', async () => {
    const bot = await world.agent(RESEARCH_BOT);
    const seen = world.decisions.lines.length;
    const call = unaryCall<{ content: Buffer }>(bot, 'readFile', { path: '/payroll/q3.csv' });
    await waitUntil(() => world.decisions.lines.slice(seen).some((l) => l.decision === 'escalate'), 10_000);
    const escalated = world.decisions.lines.slice(seen).find((l) => l.decision === 'escalate')!;
    const id = escalated.approval as string;
    const approval = await world.gateway.approvals.get(id);
    await world.gateway.approvals.approve(id, 'spiffe://example.org/people/alice');
    expect((await call).content.toString()).toBe('salaries');

    const records = world.decisions.lines.slice(seen).filter((l) => l.decisionId === escalated.decisionId);
    expect(records.map((r) => r.decision)).toEqual(['escalate', 'allow']);
    const digest = escalated.requestDigest as string;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(records.every((r) => r.requestDigest === digest)).toBe(true);
    expect(approval!.digest).toBe(
      approvalDigest({ caller: escalated.caller as string, principal: escalated.principal as string, action: READ, upstream: escalated.resource as string, requestDigest: digest }),
    );
  });
});

describe('an MCP tool call: its record names the JSON-RPC message the MCP server received', () => {
  let upstream: McpUpstream;
  let world: GatewayWorld;
  let client: Client;

  beforeAll(async () => {
    upstream = await startMcpUpstream();
    world = await startMcpGatewayWorld(upstream);
    client = await mcpClient(world, RESEARCH_BOT);
  });
  afterAll(async () => {
    await client?.close();
    await world?.close();
    await upstream?.close();
  });

  it('the allow carries sha256 of the body the server got (the relay forwards the canonical JSON)', async () => {
    const result = await client.callTool({ name: 'read_note', arguments: { path: '/notes/a' } });
    expect(result.isError).not.toBe(true);
    const body = upstream.bodies.find((b) => b.toString('utf8').includes('"tools/call"'))!;
    expect(body).toBeDefined();
    const record = world.decisions.lines.find((l) => l.action === 'mcp:notes/tools/call/read_note')!;
    expect(record).toMatchObject({ protocol: 'mcp', decision: 'allow', requestDigest: sha256(body) });
  });

  it('a denied call names the message it refused; nothing reached the server', async () => {
    const before = upstream.bodies.length;
    await expect(client.callTool({ name: 'read_note', arguments: { path: '/secrets/k' } })).rejects.toThrow(/Denied by policy/);
    expect(upstream.bodies.length).toBe(before);
    const record = world.decisions.lines.filter((l) => l.action === 'mcp:notes/tools/call/read_note').at(-1)!;
    expect(record.decision).toBe('deny');
    expect(record.requestDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(record.requestDigest).not.toBe(world.decisions.lines.find((l) => l.action === 'mcp:notes/tools/call/read_note')!.requestDigest);
  });
});
