import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CallerSlots } from '../../../src/limits/caller-slots';
import { McpRelay } from '../../../src/mcp/mcp-relay';
import type { DecisionLog } from '../../../src/observability/decision-log';
import type { Logger } from '../../../src/observability/logger';
import type { GatewayMetrics } from '../../../src/observability/metrics';
import { PolicySet, type Principal } from '../../../src/policy';
import type { Caller, GatewayState } from '../../../src/server/call-context';
import { McpDecisions } from '../../../src/server/mcp-decisions';
import { McpRoutes } from '../../../src/server/mcp-routes';

const BOT = 'spiffe://example.org/agents/research-bot';
const principal: Principal = Object.freeze({ type: 'Agent', id: 'research-bot', attrs: {}, groups: ['researchers'] });
const caller = { peer: { spiffeId: BOT, trustDomain: 'example.org', authn: 'x509-svid' } } as Caller;

/** A state whose policies permit every notes tool call and list (`allow`), or none. */
function stateOf(policyHash: string, allow: boolean): GatewayState {
  const set = PolicySet.fromText({ 'p.cedar': allow ? 'permit (principal, action, resource == Tool::"notes");' : 'forbid (principal, action, resource);' });
  const engine = { set, authorize: () => ({ allow, policies: [], errors: [], evaluationMicros: 1, cached: false }) };
  return { policyHash, engine, identities: { resolve: () => principal } } as unknown as GatewayState;
}

/** An MCP server answering tools/list with one tool and anything else with an empty result, counting what reaches it. */
async function upstream(): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits += 1;
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const { id, method } = JSON.parse(body) as { id: number; method: string };
      const result = method === 'tools/list' ? { tools: [{ name: 'read_note', inputSchema: { type: 'object' } }] } : { content: [] };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id, result }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    hits: () => hits,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function post(port: number, message: object): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      port,
      host: '127.0.0.1',
      path: '/mcp/notes',
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) as Record<string, unknown> }));
    });
    req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, ...message }));
  });
}

describe('an MCP request is decided under the one state read when it arrived', () => {
  // A reload between two reads: the first read of each request sees the state that permits, every later one a state that denies.
  const permitting = stateOf('A', true);
  const denying = stateOf('B', false);
  let reads = 0;
  const state = () => (reads++ === 0 ? permitting : denying);
  const records: Record<string, unknown>[] = [];
  let server: Awaited<ReturnType<typeof upstream>>;
  let front: http.Server;
  let port: number;

  beforeAll(async () => {
    server = await upstream();
    const counter = { inc: () => {}, labels: () => counter, observe: () => {} };
    let next = 0;
    const decisions = new McpDecisions({
      log: { write: (record: Record<string, unknown>) => records.push(record) } as unknown as DecisionLog,
      metrics: new Proxy({}, { get: () => counter }) as unknown as GatewayMetrics,
      state,
      nextDecisionId: () => `d-${++next}`,
    });
    const { decide, couldPermit } = decisions.decider();
    const routes = new McpRoutes({
      relays: new Map([['notes', new McpRelay({ upstream: 'notes', url: server.url, decide, couldPermit, onEvent: (e) => decisions.relayEvent(e) })]]),
      decisions,
      state,
      callerSlots: new CallerSlots(4),
      logger: { error: () => {} } as unknown as Logger,
    });
    front = http.createServer((req, res) => routes.serve(req, res, caller));
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    port = (front.address() as AddressInfo).port;
  });
  afterAll(async () => {
    front.closeAllConnections();
    await new Promise<void>((resolve) => front.close(() => resolve()));
    await server.close();
  });
  beforeEach(() => {
    reads = 0;
    records.length = 0;
  });

  it('decides a tool call with the policies that mapped its caller, and records that policy set', async () => {
    const hits = server.hits();
    const answer = await post(port, { method: 'tools/call', params: { name: 'read_note', arguments: {} } });
    expect(answer.body).toMatchObject({ id: 1, result: { content: [] } });
    expect(server.hits()).toBe(hits + 1);
    expect(records).toEqual([expect.objectContaining({ action: 'mcp:notes/tools/call/read_note', decision: 'allow', policySet: 'A' })]);
  });

  it('filters a list answer with the policies that permitted the list', async () => {
    const answer = await post(port, { method: 'tools/list' });
    expect(answer.body).toMatchObject({ id: 1, result: { tools: [{ name: 'read_note' }] } });
    expect(records).toEqual([expect.objectContaining({ action: 'mcp:notes/tools/list', decision: 'allow', policySet: 'A' })]);
  });
});
