import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { MemoryApprovalStore } from '../../../src/approvals/memory-approval-store';
import { TrustDomain } from '../../../src/spiffe/id';
import { DecisionLog } from '../../../src/observability/decision-log';
import { ApprovalActions } from '../../../src/server/approval-actions';
import { ApprovalsConsole, CONSOLE_COOKIE, CSRF_HEADER } from '../../../src/server/approvals-console';
import { SpiffeId } from '../../../src/spiffe/id';

const ALICE = 'spiffe://people.test/alice';

/**
 * The console's HTTP answers, behind a plain loopback server standing in for its listener (the
 * mTLS part, and the browser, are test/integration/approvers-decide-in-the-browser-console.test.ts).
 */
describe('ApprovalsConsole: what it answers, and what it refuses', () => {
  let server: http.Server;
  let base: string;
  let store: MemoryApprovalStore;
  const records: Record<string, unknown>[] = [];

  beforeAll(async () => {
    store = new MemoryApprovalStore();
    const log = new DecisionLog({ sink: { write: (line: string) => records.push(JSON.parse(line) as Record<string, unknown>) }, checkpointSeconds: 3600 });
    let n = 0;
    const actions = new ApprovalActions(
      store,
      log,
      () => `d${n++}`,
      () => 'set',
    );
    const app = new ApprovalsConsole({
      store,
      actions,
      userHeader: 'x-forwarded-user',
      trustDomain: TrustDomain.parse('people.test'),
      identities: () => [{ spiffeId: SpiffeId.parse(ALICE), agent: 'alice', groups: ['owners'], attributes: {} }],
      logger: pino({ level: 'silent' }),
      record: (record) => log.write(record),
      nextDecisionId: () => `d${n++}`,
    });
    server = http.createServer((req, res) => app.serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await store.close();
  });

  const pending = () =>
    store.create(
      {
        digest: 'a'.repeat(64),
        caller: 'spiffe://example.org/agents/bot',
        principal: 'Agent::"bot"',
        action: 'x.v1.S/M',
        resource: 'files',
        group: 'owners',
        quorum: 1,
        policies: ['p'],
        ttlMs: 60_000,
      },
      new Date(),
    );

  /** A signed-in session: its cookie (from the page) and CSRF token (from api/requests). */
  async function session(user = 'alice'): Promise<{ cookie: string; csrf: string }> {
    const page = await fetch(`${base}/`, { headers: { 'x-forwarded-user': user } });
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    const state = (await (await fetch(`${base}/api/requests`, { headers: { 'x-forwarded-user': user, cookie } })).json()) as { csrf: string };
    return { cookie, csrf: state.csrf };
  }

  function decide(id: string, headers: Record<string, string>, verb = 'approve') {
    return fetch(`${base}/api/requests/${id}/${verb}`, { method: 'POST', headers: { 'x-forwarded-user': 'alice', origin: base, 'sec-fetch-site': 'same-origin', ...headers } });
  }

  it('serves the page, its script and style under a strict CSP, no framing, no caching, and starts a session with a __Host- cookie', async () => {
    const page = await fetch(`${base}/`, { headers: { 'x-forwarded-user': 'alice' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self';.*frame-ancestors 'none'/);
    expect(page.headers.get('content-security-policy')).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('set-cookie')).toMatch(new RegExp(`^${CONSOLE_COOKIE}=[A-Za-z0-9_-]{43}; Path=/; Secure; HttpOnly; SameSite=Strict$`));
    const html = await page.text();
    expect(html).toContain('<script src="console.js" defer></script>');
    expect(html).not.toMatch(/<script>|<style>| on[a-z]+=/);
    const js = await fetch(`${base}/console.js`, { headers: { 'x-forwarded-user': 'alice' } });
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
  });

  it('answers 401 to a request the proxy named nobody in: none, repeated, or a name that is no SPIFFE ID path', async () => {
    expect((await fetch(`${base}/`)).status).toBe(401);
    expect(
      (
        await fetch(`${base}/api/requests`, {
          headers: [
            ['x-forwarded-user', 'alice'],
            ['x-forwarded-user', 'bob'],
          ],
        })
      ).status,
    ).toBe(401);
    expect((await fetch(`${base}/`, { headers: { 'x-forwarded-user': 'a/../b' } })).status).toBe(401);
  });

  it('lists nothing without a session cookie, and a person in no group sees no request', async () => {
    await pending();
    expect((await fetch(`${base}/api/requests`, { headers: { 'x-forwarded-user': 'alice' } })).status).toBe(403);
    const bob = await session('bob');
    const state = (await (await fetch(`${base}/api/requests`, { headers: { 'x-forwarded-user': 'bob', cookie: bob.cookie } })).json()) as { pending: unknown[]; groups: string[] };
    expect(state).toMatchObject({ pending: [], groups: [] });
  });

  it("refuses a decision from another origin or site, with another person's token, or without the cookie, even with a valid token", async () => {
    const request = await pending();
    const alice = await session();
    const bob = await session('bob');
    const good = { cookie: alice.cookie, [CSRF_HEADER]: alice.csrf };
    expect((await decide(request.id, { ...good, origin: 'https://evil.example' })).status).toBe(403);
    expect((await decide(request.id, { ...good, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await decide(request.id, { ...good, 'sec-fetch-site': 'same-site' })).status).toBe(403);
    expect((await decide(request.id, { cookie: alice.cookie, [CSRF_HEADER]: bob.csrf })).status).toBe(403);
    expect((await decide(request.id, { cookie: bob.cookie, [CSRF_HEADER]: bob.csrf })).status).toBe(403);
    expect((await decide(request.id, { [CSRF_HEADER]: alice.csrf })).status).toBe(403);
    expect((await store.get(request.id, new Date()))?.state).toBe('pending');
    // Each refusal is a record naming who tried, and none is an approval.
    const refusals = records.filter((r) => r.approval === request.id);
    expect(refusals).toHaveLength(6);
    for (const r of refusals)
      expect(r).toMatchObject({ decision: 'deny', httpStatus: 403, action: 'toolgate.v1.Approvals/Approve', reason: expect.stringMatching(/^approvals console: possibly forged/) });
    expect(refusals.every((r) => r.caller === ALICE)).toBe(true);

    const approved = await decide(request.id, good);
    expect(approved.status).toBe(200);
    expect(records.find((r) => r.approval === request.id && r.event !== undefined)).toMatchObject({ event: 'approval granted', by: ALICE });
    // Decided: a second decision is a conflict, not a second record.
    expect((await decide(request.id, good, 'deny')).status).toBe(409);
    expect(records.at(-1)).toMatchObject({ caller: ALICE, action: 'toolgate.v1.Approvals/Deny', approval: request.id, decision: 'deny', httpStatus: 409 });
  });

  it('takes decisions by POST only', async () => {
    const request = await pending();
    expect((await fetch(`${base}/api/requests/${request.id}/approve`, { headers: { 'x-forwarded-user': 'alice' } })).status).toBe(404);
    expect((await fetch(`${base}/api/requests/${request.id}/approve`, { method: 'PUT', headers: { 'x-forwarded-user': 'alice' } })).status).toBe(405);
  });
});
