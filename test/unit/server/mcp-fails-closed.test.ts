import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Principal } from '../../../src/identity/principal';
import { McpRelay } from '../../../src/mcp/mcp-relay';
import type { McpCut, McpDecision } from '../../../src/mcp/relay-contract';
import type { Caller, GatewayState } from '../../../src/server/call-context';
import type { CallGuard } from '../../../src/server/call-guard';
import { McpDecisions, type McpGatewayCaller } from '../../../src/server/mcp-decisions';
import { McpRequestScope } from '../../../src/server/mcp-request-scope';
import { McpRoutes } from '../../../src/server/mcp-routes';
import type { GatewayMetrics } from '../../../src/observability/metrics';
import type { DecisionLog } from '../../../src/observability/decision-log';
import type { CallerSlots } from '../../../src/limits/caller-slots';
import type { Logger } from '../../../src/observability/logger';

const BOT = 'spiffe://example.org/agents/research-bot';
const principal: Principal = Object.freeze({ type: 'Agent', id: 'research-bot', attrs: {}, groups: ['researchers'] });
const peer = { spiffeId: BOT } as Caller['peer'];
const TOOL_CALL = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'read_note', arguments: { path: '/a' } } });

/** An HTTP server counting the requests that reach it (the MCP server), answering each with an empty JSON result. */
async function countingUpstream(): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits += 1;
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [] } }));
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

/** A server whose every request goes to `serve`. */
async function front(serve: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function post(port: number, path = '/mcp/notes'): { req: http.ClientRequest; answer: Promise<{ status: number; body: string }> } {
  const req = http.request({ port, host: '127.0.0.1', path, method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' } });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
  });
  req.end(TOOL_CALL);
  return { req, answer };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the MCP relay sends nothing upstream for a caller that is gone or cut', () => {
  it('forwards nothing when the caller closed its connection while the decision was pending', async () => {
    const upstream = await countingUpstream();
    let entered!: () => void;
    const decideEntered = new Promise<void>((resolve) => (entered = resolve));
    let allow!: (decision: McpDecision) => void;
    const relay = new McpRelay({
      upstream: 'notes',
      url: upstream.url,
      decide: () => {
        entered();
        return new Promise((resolve) => (allow = resolve));
      },
      couldPermit: () => true,
    });
    let handled!: Promise<void>;
    const served = await front((req, res) => {
      handled = relay.handle(req, res, { key: BOT, principal });
    });
    try {
      const { req, answer } = post(served.port);
      answer.catch(() => {});
      await decideEntered;
      req.destroy();
      await sleep(50);
      allow({ allow: true, decisionId: 'd-1' });
      await handled;
      await sleep(50);
      expect(upstream.hits()).toBe(0);
    } finally {
      await served.close();
      await upstream.close();
    }
  });

  it('forwards nothing when the request was cut while it was decided, and answers the cut', async () => {
    const upstream = await countingUpstream();
    const cut = new AbortController();
    const relay = new McpRelay({
      upstream: 'notes',
      url: upstream.url,
      decide: () => {
        cut.abort({ decisionId: 'd-cut' } satisfies McpCut);
        return Promise.resolve({ allow: true, decisionId: 'd-1' });
      },
      couldPermit: () => true,
    });
    const served = await front((req, res) => void relay.handle(req, res, { key: BOT, principal, cut: cut.signal }));
    try {
      const answer = await post(served.port).answer;
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ id: 1, error: { message: 'Cut (decision d-cut)', data: { decisionId: 'd-cut' } } });
      await sleep(50);
      expect(upstream.hits()).toBe(0);
    } finally {
      await served.close();
      await upstream.close();
    }
  });
});

/** What McpDecisions records, over fakes of the log and the metrics. */
function decisionsWith(options: { guard?: CallGuard; authorize?: () => never }) {
  const records: Record<string, unknown>[] = [];
  let next = 0;
  const counter = { inc: () => {}, labels: () => counter, observe: () => {} };
  const metrics = new Proxy({}, { get: () => counter }) as unknown as GatewayMetrics;
  const engine = { authorize: options.authorize ?? (() => ({ allow: true, policies: [], errors: [], evaluationMicros: 1, cached: false })) };
  const state = { policyHash: 'p-1', engine, identities: { resolve: () => principal } } as unknown as GatewayState;
  const decisions = new McpDecisions({
    log: { write: (record: Record<string, unknown>) => records.push(record) } as unknown as DecisionLog,
    metrics,
    state: () => state,
    nextDecisionId: () => `d-${++next}`,
    ...(options.guard && { guard: options.guard }),
  });
  return { decisions, records };
}

const READ = { upstream: 'notes', method: 'tools/call', action: 'mcp:notes/tools/call/read_note', resource: 'notes', request: { path: '/a' } };

describe('McpDecisions when the guard or Cedar fails', () => {
  const caller = (): McpGatewayCaller => ({ key: BOT, principal, peer, scope: new McpRequestScope({}, () => {}) });

  it("records a guard that failed as a refusal with the guard's message, and denies with that decision id", async () => {
    const guard = { applies: () => true, admit: () => Promise.reject(new Error('task store down')) } as unknown as CallGuard;
    const { decisions, records } = decisionsWith({ guard });
    const decision = await decisions.decider().decide(caller(), READ);
    expect(decision).toEqual({ allow: false, decisionId: 'd-1' });
    expect(records).toEqual([expect.objectContaining({ decisionId: 'd-1', protocol: 'mcp', decision: 'deny', reason: 'guard failed: task store down', action: READ.action })]);
  });

  it('gives the task slot back when Cedar throws after the guard admitted the call', async () => {
    const release = jest.fn();
    const task = { id: 't-1', expiresAt: new Date(Date.now() + 60_000), context: {}, release };
    const guard = { applies: () => true, admit: () => Promise.resolve({ task }) } as unknown as CallGuard;
    const { decisions } = decisionsWith({
      guard,
      authorize: () => {
        throw new Error('engine broke');
      },
    });
    const scoped = caller();
    await expect(decisions.decider().decide(scoped, READ)).rejects.toThrow('engine broke');
    expect(release).toHaveBeenCalledTimes(1);
    scoped.scope!.end();
    expect(release).toHaveBeenCalledTimes(1);
  });
});

describe('McpRoutes while the gateway is unavailable (its SVID expired)', () => {
  it('answers 503 with a decision id, records the refusal with the reason, and takes no slot nor relays anything', async () => {
    const refusals: { caller: string; reason: string }[] = [];
    const handled: unknown[] = [];
    const taken: string[] = [];
    const routes = new McpRoutes({
      relays: new Map([['notes', { handle: (...args: unknown[]) => (handled.push(args), Promise.resolve()) } as unknown as McpRelay]]),
      decisions: {
        refuse: (callerId: string, facts: { reason: string }) => {
          refusals.push({ caller: callerId, reason: facts.reason });
          return 'd-503';
        },
      } as unknown as McpDecisions,
      state: () => ({ identities: { resolve: () => principal } }) as unknown as GatewayState,
      callerSlots: { take: (id: string) => (taken.push(id), () => {}), maxPerCaller: 4 } as unknown as CallerSlots,
      logger: { error: () => {} } as unknown as Logger,
      unavailable: () => 'X.509-SVID expired at 2026-01-01T00:00:00.000Z',
    });
    const served = await front((req, res) => routes.serve(req, res, { peer } as Caller));
    try {
      const answer = await post(served.port).answer;
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.body)).toMatchObject({ jsonrpc: '2.0', id: null, error: { data: { decisionId: 'd-503' } } });
      expect(refusals).toEqual([{ caller: BOT, reason: 'X.509-SVID expired at 2026-01-01T00:00:00.000Z' }]);
      expect(handled).toEqual([]);
      expect(taken).toEqual([]);
    } finally {
      await served.close();
    }
  });
});
