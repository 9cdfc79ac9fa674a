import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../config/load-config';
import { filesServiceImplementation } from '../examples/files-service';
import { FilesClient, filesService } from '../examples/files-proto';
import { CallTokenError, createCallTokenVerifier, type CallTokenVerifier, type VerifiedCallClaims } from '../credentials/call-token-verifier';
import { TasksClient, taskMetadata, type BeginTaskReply } from '../tasks/tasks-client';
import { ApprovalsClient } from '../approvals/approvals-client';
import { JWKS_PATH } from '../credentials/jwks-route';
import { NotesMcpServer } from '../examples/notes-mcp-server';
import { ToolServer } from '../examples/tool-server';
import { Gateway } from '../server/gateway';
import { DevIdentityProvider } from '../spiffe/dev/identity-provider';
import { authorizeId } from '../spiffe/tls/authorizer';
import { grpcChannelCredentials } from '../spiffe/tls/grpc-credentials';
import { X509Source } from '../spiffe/workload/x509-source';
import { DecisionRecorder, type DecisionLine } from './decision-recorder';
import { runMcpScenes } from './mcp-scenes';
import { mtlsFetch } from '../server/mtls-fetch';

const GATEWAY = 'spiffe://example.org/toolgate';
const FILES = 'spiffe://example.org/tools/files';
const AGENTS = {
  researchBot: 'spiffe://example.org/agents/research-bot',
  ciBuilder: 'spiffe://example.org/agents/ci/builder-7',
  stranger: 'spiffe://example.org/agents/stranger',
  partner: 'spiffe://partner.test/agents/helper',
};
/** A person in the approvers' group "payroll-owners" (examples/toolgate.yaml), with an SVID of her own. */
const APPROVER = 'spiffe://example.org/people/alice';
export const DEMO_CONFIG = resolve(__dirname, '../../examples/toolgate.yaml');

type Files = grpc.Client & Record<string, (...args: unknown[]) => grpc.ClientUnaryCall | grpc.ClientReadableStream<unknown>>;

/**
 * The embedded default: a dev identity provider (no SPIRE), the example files tool, the
 * gateway with examples/toolgate.yaml and policies/, and four sample callers. Prints
 * what happened to each call and why, from the gateway's own decision log.
 */
export async function runDemo(print: (line: string) => void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-demo-'));
  const closers: Array<() => unknown> = [];
  try {
    const provider = await DevIdentityProvider.create({ trustDomain: 'example.org', federatedTrustDomains: ['partner.test'] });
    closers.push(() => provider.close());
    const workload = async (id: string) => {
      const api = await provider.serve(id, `unix://${join(dir, `${closers.length}.sock`)}`);
      const source = await X509Source.create({ address: api.address, timeoutMs: 10_000 });
      closers.push(() => source.close());
      return source;
    };

    const files = new Map([
      ['/reports/q3.md', Buffer.from('Q3 revenue grew 12%.')],
      ['/reports/q4-draft.md', Buffer.from('TBD')],
      ['/secrets/api-key', Buffer.from('sk-live-not-for-agents')],
    ]);
    // The tool verifies the gateway's per-call JWT against its JWKS, whose URL is known once the gateway listens.
    const verified: VerifiedCallClaims[] = [];
    let verify: CallTokenVerifier = () => Promise.reject(new CallTokenError('the gateway is not up yet'));
    const implementation = filesServiceImplementation(files, { callTokens: (token) => verify(token), verified });
    const tool = await ToolServer.start(await workload(FILES), authorizeId(GATEWAY), [[filesService, implementation]]);
    closers.push(() => tool.close());

    // The example MCP server: plain http on loopback, reached only by the gateway in this demo.
    const notes = await NotesMcpServer.start(
      new Map([
        ['/notes/q3.md', 'Q3: revenue grew 12%; hiring paused.'],
        ['/payroll/march.md', 'March payroll: 41 people, 312k in total.'],
        ['/secrets/api-key', 'sk-live-not-for-agents'],
      ]),
    );
    closers.push(() => notes.close());

    const base = loadConfig(DEMO_CONFIG);
    const gatewayApi = await provider.serve(GATEWAY, `unix://${join(dir, 'gateway.sock')}`);
    const config = {
      ...base,
      spiffe: { ...base.spiffe, endpointSocket: gatewayApi.address },
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      upstreams: base.upstreams.map((u) => ({ ...u, address: tool.target })),
      mcpUpstreams: base.mcpUpstreams.map((u) => ({ ...u, url: notes.url })),
    };
    const decisions = new DecisionRecorder();
    const operations = new DecisionRecorder();
    const gateway = await Gateway.start(config, { logger: operations.logger, decisionLog: decisions.sink, svidTimeoutMs: 10_000 });
    closers.push(() => gateway.close(1000));
    verify = createCallTokenVerifier({ jwksUrl: `http://127.0.0.1:${gateway.adminAddress!.port}${JWKS_PATH}`, issuer: GATEWAY, audience: FILES });

    print('toolgate demo: every tool call is authenticated by SPIFFE ID and authorized by Cedar before it happens');
    print(`  identities  dev Workload API, trust domain example.org (in-memory CA; federated: partner.test)`);
    print(`  tool        files (${FILES}) at ${tool.target}, accepting only the gateway and its per-call JWT (JWKS on the admin port)`);
    print(`  mcp server  notes (an MCP SDK McpServer) at ${notes.url}, loopback http: the gateway's MCP upstream`);
    print(`  gateway     ${GATEWAY} at 127.0.0.1:${gateway.address.port}, policies ${base.policies}, validated against its schema (set ${gateway.pipeline.current.policyHash})`);
    print('');

    // By name, as agents would: a TLS client must not send an IP address as SNI.
    const target = `localhost:${gateway.address.port}`;
    const clientFor = async (id: string): Promise<Files> => {
      const client = new FilesClient(target, grpcChannelCredentials(await workload(id), authorizeId(GATEWAY))) as Files;
      closers.push(() => client.close());
      return client;
    };
    const bot = await clientFor(AGENTS.researchBot);
    const ci = await clientFor(AGENTS.ciBuilder);
    let step = 0;
    const scene = async (title: string, call: () => Promise<string>, extra: (ops: DecisionLine[]) => Promise<string[]> | string[] = () => []) => {
      const mark = decisions.lines.length;
      const opsMark = operations.lines.length;
      const toolMark = verified.length;
      print(`${++step}. ${title}`);
      const outcome = await call().catch((err: grpc.ServiceError) => `${grpc.status[err.code] ?? err.code}: ${firstSentence(err.details ?? err.message)}`);
      print(`   result    ${outcome}`);
      for (const line of decisions.since(mark)) print(`   evidence  ${explain(line)}`);
      for (const claims of verified.slice(toolMark))
        print(`   tool      verified the gateway's JWT: sub ${claims.subject}, scope ${claims.scope}${claims.taskId ? `, task ${claims.taskId}` : ''}`);
      for (const line of await extra(operations.since(opsMark))) print(`   ${line}`);
      if (decisions.since(mark).length === 0) {
        const refused = operations.since(opsMark).find((l) => l.msg === 'connection refused');
        print(`   evidence  no decision: the gateway refused the connection after the TLS handshake (${refused?.reason ?? 'no reason logged'})`);
      }
      print('');
    };

    await scene('research-bot reads /reports/q3.md (unary)', () => unary(bot, 'readFile', { path: '/reports/q3.md' }).then((r) => `OK "${(r as { content: Buffer }).content}"`));
    await scene("research-bot reads /secrets/api-key (a policy on the call's arguments)", () =>
      unary(bot, 'readFile', { path: '/secrets/api-key' }).then((r) => `OK "${(r as { content: Buffer }).content}"`),
    );
    await scene('research-bot lists /reports (server streaming)', () =>
      stream(bot.listDir({ path: '/reports' }) as grpc.ClientReadableStream<{ name: string }>).then((e) => `OK ${e.map((x) => x.name).join(', ')}`),
    );
    await scene('research-bot tries to overwrite /reports/q3.md (client streaming)', () => write(bot, '/reports/q3.md', 'Q3 revenue fell.'));
    await scene('ci/builder-7 publishes /reports/q4.md (client streaming)', () => write(ci, '/reports/q4.md', 'Q4 is final.'));
    await scene('an unmapped workload, agents/stranger, reads a file', async () =>
      unary(await clientFor(AGENTS.stranger), 'readFile', { path: '/reports/q3.md' }).then(() => 'OK'),
    );
    await scene('partner.test/agents/helper, from a trust domain the gateway does not accept, reads a file', async () =>
      unary(await clientFor(AGENTS.partner), 'readFile', { path: '/reports/q3.md' }).then(() => 'OK'),
    );

    print('A task: research-bot holds power only for a declared piece of work, for as long as it lasts, within a budget.');
    print('');
    const tasks = new TasksClient(target, grpcChannelCredentials(await workload(AGENTS.researchBot), authorizeId(GATEWAY))) as Files;
    closers.push(() => tasks.close());
    let task: BeginTaskReply | undefined;
    await scene('research-bot begins a task: "summarize Q3", reading files only, 5 minutes, 2 calls', async () => {
      task = (await unary(tasks, 'beginTask', { intent: 'summarize Q3', tools: ['tools.files.v1.Files/ReadFile'], ttlSeconds: 300, budget: { calls: 2 } })) as BeginTaskReply;
      return `OK task ${task.taskId}, token bound to research-bot's SPIFFE ID, expires ${new Date(task.expiresAt.seconds * 1000).toISOString()}`;
    });
    const inTask = () => taskMetadata(task!.token);
    await scene('research-bot reads /reports/q3.md within the task', () =>
      unary(bot, 'readFile', { path: '/reports/q3.md' }, inTask()).then((r) => `OK "${(r as { content: Buffer }).content}"`),
    );
    await scene('research-bot lists /reports within the task (policy permits listing; the task does not)', () =>
      stream(bot.listDir({ path: '/reports' }, inTask()) as grpc.ClientReadableStream<{ name: string }>).then(() => 'OK'),
    );
    await scene('research-bot reads /reports/q4-draft.md within the task (its second and last call)', () =>
      unary(bot, 'readFile', { path: '/reports/q4-draft.md' }, inTask()).then((r) => `OK "${(r as { content: Buffer }).content}"`),
    );
    await scene('research-bot reads /reports/q3.md again within the task (budget spent)', () => unary(bot, 'readFile', { path: '/reports/q3.md' }, inTask()).then(() => 'OK'));
    await scene('research-bot ends the task', () => unary(tasks, 'endTask', { taskId: task!.taskId }).then(() => 'OK, ended'));
    await scene("research-bot reads /reports/q3.md with the ended task's token", () => unary(bot, 'readFile', { path: '/reports/q3.md' }, inTask()).then(() => 'OK'));
    print(`files now: ${[...files.keys()].join(', ')}; q3.md still says "${files.get('/reports/q3.md')}"`);
    print('');

    // The approver: alice, through the gateway's toolgate.v1.Approvals, approves the next request she is asked.
    const approvals = new ApprovalsClient(target, grpcChannelCredentials(await workload(APPROVER), authorizeId(GATEWAY))) as unknown as Files;
    closers.push(() => approvals.close());
    const approveNextRequest = async (): Promise<string> => {
      const mark = decisions.lines.length;
      const asked = await until(() => decisions.since(mark).find((l) => l.decision === 'escalate'));
      const id = String(asked.approval);
      await unary(approvals, 'approve', { approvalId: id });
      return `approver  alice (${APPROVER}, group payroll-owners) approved ${id} through toolgate.v1.Approvals/Approve`;
    };

    await runMcpScenes({
      print,
      scene,
      approveNextRequest,
      notes,
      endpoint: new URL(`https://localhost:${gateway.address.port}/mcp/notes`),
      agentFetch: mtlsFetch(await workload(AGENTS.researchBot), authorizeId(GATEWAY)),
      toolChanged: async (name) => {
        const metric = await gateway.metrics.registry.getSingleMetric('toolgate_mcp_tool_changed_total')?.get();
        return metric?.values.find((v) => v.labels.upstream === 'notes' && v.labels.tool === name)?.value ?? 0;
      },
    });
  } finally {
    for (const close of closers.reverse()) await close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function explain(line: DecisionLine): string {
  const who = line.principal ?? line.caller;
  const id = typeof line.message === 'number' ? `${line.decisionId} (message ${line.message})` : line.decisionId;
  const task = typeof line.task === 'string' ? ` in task ${line.task}` : '';
  if (line.event === 'task begun') return `decision ${id}: task ${line.task} begun, expires ${line.expiresAt}`;
  if (line.event === 'approval granted' || line.event === 'approval denied') return `decision ${id}: approval ${line.approval} ${line.event.slice(9)} by ${line.by}`;
  if (line.decision === 'escalate')
    return `decision ${id}: ESCALATE ${who} ${line.action}${task}: policy ${line.policies?.join(', ')} asks a person's approval; held as request ${line.approval}`;
  const approved = Array.isArray(line.by) ? `, approved by ${line.by.join(', ')} (request ${line.approval}, now used)` : '';
  if (line.decision === 'allow') return `decision ${id}: ALLOW ${who} ${line.action}${task}, by ${line.policies?.map((p) => `policy ${p}`).join(', ') ?? line.reason}${approved}`;
  const why = line.policies?.length ? `forbidden by ${line.policies.join(', ')}` : (line.reason ?? 'no policy permits it (default deny)');
  return `decision ${id}: DENY ${who} ${line.action}${task}: ${why}`;
}

/** Polls `find` until it finds something (the demo's records come within milliseconds; 10 s at most). */
async function until<T>(find: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error('the gateway recorded no escalation');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function firstSentence(text: string): string {
  return text.split(/\.\s/)[0];
}

function unary(client: Files, method: string, request: object, metadata = new grpc.Metadata()): Promise<unknown> {
  return new Promise((resolve, reject) =>
    client[method](request, metadata, { deadline: Date.now() + 5000 }, (err: Error | null, reply: unknown) => (err ? reject(err) : resolve(reply))),
  );
}

function stream<T>(call: grpc.ClientReadableStream<T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const items: T[] = [];
    call.on('data', (item: T) => items.push(item));
    call.on('error', reject);
    call.on('end', () => resolve(items));
  });
}

function write(client: Files, path: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const call = client.writeFile({ deadline: Date.now() + 5000 }, (err: Error | null, reply: { bytesWritten: number }) =>
      err ? reject(err) : resolve(`OK, ${reply.bytesWritten} bytes written`),
    ) as unknown as grpc.ClientWritableStream<object>;
    for (const part of text.match(/.{1,6}/g) ?? []) call.write({ path, data: Buffer.from(part) });
    call.end();
  });
}
