import * as grpc from '@grpc/grpc-js';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { errorInfoOf, STATUS_DETAILS_HEADER } from '../../src/relay/status-details';
import { authorizeId } from '../../src/spiffe/tls/authorizer';
import { mtlsClientOptions } from '../../src/spiffe/tls/mtls-client';
import type { X509TlsSource } from '../../src/spiffe/tls/secure-context-cache';
import { describeWithChromium, launchChromium } from './support/chromium';
import { GATEWAY_ID, GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { taskMetadata, tasksOf } from './support/task-calls';
import { waitUntil } from './support/workload-fixtures';

const READ = 'tools.files.v1.Files/ReadFile';
const PROXY_ID = 'spiffe://example.org/auth-proxy';
const ALICE = 'spiffe://people.test/alice';
/** The redacted argument's value: it must never reach the page. */
const SECRET_BYTES = 987_654;
/**
 * Where the screenshots go: a temporary folder, or docs/images to refresh the docs' pictures
 * (`TOOLGATE_SCREENSHOTS_DIR=docs/images npx jest test/integration/approvers-decide-in-the-browser-console.test.ts`).
 */
const SHOTS = process.env.TOOLGATE_SCREENSHOTS_DIR ? resolve(process.env.TOOLGATE_SCREENSHOTS_DIR) : mkdtempSync(join(tmpdir(), 'toolgate-console-'));

const POLICIES = {
  'files.cedar': `
@id("researchers-begin-tasks")
permit (principal in AgentGroup::"researchers", action == Action::"toolgate.v1.Tasks/BeginTask", resource == Tool::"toolgate");

@id("payroll-needs-approval")
@approval("payroll-owners")
permit (principal, action == Action::"${READ}", resource == Tool::"files") when { context.request.path like "/payroll/*" };
`,
};

type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>;
type Reply = { path: string; content: Buffer };

function readFile(client: Client, path: string, metadata = new grpc.Metadata()): Promise<Reply> {
  return new Promise((resolve, reject) =>
    client.readFile({ path, max_bytes: SECRET_BYTES }, metadata, (err: grpc.ServiceError | null, reply: Reply) => (err ? reject(err) : resolve(reply))),
  );
}

/**
 * The auth proxy, as the test plays it (chromium cannot present an SVID): a loopback HTTP
 * server that signs everyone in as `user`, drops any user header the browser sent, and
 * forwards to the console over mTLS with the proxy's SVID, adding its own.
 */
async function authProxy(source: X509TlsSource, console: AddressInfo, user: string | undefined): Promise<{ url: string; close: () => Promise<void> }> {
  const tls = mtlsClientOptions(source, authorizeId(GATEWAY_ID), ['http/1.1']);
  const server = http.createServer((req, res) => {
    const headers = { ...req.headers };
    delete headers['x-forwarded-user'];
    delete headers.connection;
    if (user !== undefined) headers['x-forwarded-user'] = user;
    const upstream = https.request({ host: '127.0.0.1', port: console.port, method: req.method, path: req.url, headers, agent: false, ...tls() }, (answer) => {
      const back = { ...answer.headers };
      delete back.connection;
      delete back['keep-alive'];
      res.writeHead(answer.statusCode ?? 502, back);
      answer.pipe(res);
    });
    upstream.on('error', (err) => {
      res.writeHead(502);
      res.end(err.message);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A request straight to the console listener over TLS, with `source`'s SVID (or none); resolves with the status, rejects when the handshake is refused. */
function direct(consoleAddress: AddressInfo, source: X509TlsSource | undefined, headers: Record<string, string>, path = '/api/requests'): Promise<number> {
  const tls = source ? mtlsClientOptions(source, authorizeId(GATEWAY_ID), ['http/1.1'])() : { rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] };
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: consoleAddress.port, path, headers, agent: false, ...tls }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resolves once `check` is true, trying every 50 ms for up to 15 s. */
async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (const until = Date.now() + 15_000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) if (await check()) return;
  throw new Error('never came true');
}

/** What went wrong in a page: errors and dialogs (an `alert` from injected script would be one). */
function watchPage(page: Page): string[] {
  const incidents: string[] = [];
  page.on('pageerror', (err) => incidents.push(`pageerror: ${err.message}`));
  page.on('dialog', (dialog) => {
    incidents.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return incidents;
}

describeWithChromium('approvers decide in the browser console, signed in through the auth proxy', () => {
  let world: GatewayWorld;
  let bot: Client;
  let browser: Browser;
  let proxySource: X509TlsSource;
  const proxies: { url: string; close: () => Promise<void> }[] = [];
  const contexts: BrowserContext[] = [];

  async function signedIn(user: string | undefined): Promise<{ page: Page; incidents: string[]; url: string }> {
    const proxy = await authProxy(proxySource, world.gateway.consoleAddress!, user);
    proxies.push(proxy);
    const context = await browser.newContext({ viewport: { width: 1000, height: 720 } });
    contexts.push(context);
    const page = await context.newPage();
    const incidents = watchPage(page);
    return { page, incidents, url: proxy.url };
  }

  /** Starts a held call and resolves with its approval id (from the escalate record) and the call. */
  async function heldCall(path: string, metadata?: grpc.Metadata): Promise<{ id: string; call: Promise<Reply> }> {
    const seen = world.decisions.lines.length;
    const call = readFile(bot, path, metadata);
    call.catch(() => undefined);
    await waitUntil(() => world.decisions.lines.slice(seen).some((l) => l.decision === 'escalate'), 10_000);
    return { id: world.decisions.lines.slice(seen).find((l) => l.decision === 'escalate')!.approval as string, call };
  }

  beforeAll(async () => {
    world = await GatewayWorld.start({
      policies: POLICIES,
      protos: true,
      extraIdentities: `  - spiffeId: ${ALICE}
    agent: alice
    groups: [payroll-owners]
  - spiffeIdPrefix: spiffe://people.test/
    groups: [marketing]
`,
      extraConfig: `approvals:
  holdSeconds: 120
  console:
    listen: 127.0.0.1:0
    proxy: { spiffeId: ${PROXY_ID}, trustDomain: people.test }
    redact: [maxBytes]
`,
    });
    world.files.set('/payroll/q3.csv', Buffer.from('salaries'));
    bot = (await world.agent(RESEARCH_BOT)) as Client;
    proxySource = await world.spiffe.workload(PROXY_ID);
    browser = await launchChromium();
    mkdirSync(SHOTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    for (const proxy of proxies) await proxy.close();
    await world?.close();
  }, 30_000);

  it('shows a held call with its task intent and arguments (a redacted field as redacted); Approve releases it, recorded under the person', async () => {
    const task = await (await tasksOf(world, RESEARCH_BOT)).begin({ intent: 'reconcile the Q3 payroll', tools: ['tools.files.v1.Files'], ttlSeconds: 600 });
    const { id, call } = await heldCall('/payroll/q3.csv', taskMetadata(task.token));
    const { page, incidents, url } = await signedIn('alice');
    await page.goto(url);
    const card = page.locator(`article[data-approval="${id}"]`);
    await card.waitFor({ timeout: 15_000 });
    await expect(page.locator('#who').textContent()).resolves.toContain(ALICE);
    const text = (await card.textContent())!;
    expect(text).toContain(READ);
    expect(text).toContain('Agent::"research-bot"');
    expect(text).toContain('payroll-needs-approval');
    expect(text).toContain(`${task.taskId}: reconcile the Q3 payroll`);
    expect(text).toContain('"/payroll/q3.csv"');
    expect(await card.locator('pre.arguments .redacted').count()).toBe(1);
    expect(await page.content()).not.toContain(String(SECRET_BYTES));
    expect(await card.locator('[data-expires]').textContent()).toMatch(/min/);
    await page.screenshot({ path: join(SHOTS, 'approvals-console-pending.png') });

    await card.locator('button.approve').click();
    expect((await call).content.toString()).toBe('salaries');
    await page.locator('#recent tbody tr', { hasText: 'approved, call made' }).waitFor({ timeout: 15_000 });
    await expect(page.locator(`article[data-approval="${id}"]`).count()).resolves.toBe(0);
    await page.screenshot({ path: join(SHOTS, 'approvals-console-approved.png') });

    expect(world.decisions.lines.find((l) => l.approval === id && l.event === 'approval granted')).toMatchObject({ by: ALICE, caller: RESEARCH_BOT, action: READ });
    expect(world.decisions.lines.find((l) => l.approval === id && l.decision === 'allow')).toMatchObject({ by: [ALICE], reason: 'approved' });
    expect(incidents).toEqual([]);
  }, 60_000);

  it('Deny refuses the held call at once (PERMISSION_DENIED, APPROVAL_DENIED), recorded under the person', async () => {
    const { id, call } = await heldCall('/payroll/q3.csv');
    const { page, incidents, url } = await signedIn('alice');
    await page.goto(url);
    await page.locator(`article[data-approval="${id}"] button.deny`).click();
    const err = (await call.then(
      () => {
        throw new Error('the call succeeded');
      },
      (e: grpc.ServiceError) => e,
    )) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(errorInfoOf(err.metadata.get(STATUS_DETAILS_HEADER)[0] as Buffer)?.reason).toBe('APPROVAL_DENIED');
    expect(world.decisions.lines.find((l) => l.approval === id && l.event === 'approval denied')).toMatchObject({ by: ALICE });
    expect(incidents).toEqual([]);
  }, 60_000);

  it('an argument with markup renders as text: no element, no script', async () => {
    const hostile = '/payroll/<img src=x onerror="alert(document.cookie)"><script>alert(1)</script>.csv';
    const { id } = await heldCall(hostile);
    const { page, incidents, url } = await signedIn('alice');
    await page.goto(url);
    const card = page.locator(`article[data-approval="${id}"]`);
    await card.waitFor({ timeout: 15_000 });
    expect(await card.locator('pre.arguments').textContent()).toContain(JSON.stringify(hostile));
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('main script').count()).toBe(0);
    expect(incidents).toEqual([]);
    await card.locator('button.deny').click();
    await eventually(async () => (await world.gateway.approvals.get(id))?.state === 'denied');
    expect(incidents).toEqual([]);
  }, 60_000);

  it('a non-approver sees nothing actionable, and an approve it forges for a request of another group is refused', async () => {
    const { id, call } = await heldCall('/payroll/q3.csv');
    const { page, url } = await signedIn('mallory');
    await page.goto(url);
    await page.locator('#who', { hasText: 'spiffe://people.test/mallory' }).waitFor({ timeout: 15_000 });
    expect(await page.locator('#none').isVisible()).toBe(true);
    expect(await page.locator('article').count()).toBe(0);
    // With its own session's valid CSRF token: still not an approver of payroll-owners.
    const status = await page.evaluate(async (approval) => {
      const state = (await (await fetch('api/requests')).json()) as { csrf: string };
      const res = await fetch(`api/requests/${approval}/approve`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-toolgate-csrf': state.csrf }, body: '{}' });
      return res.status;
    }, id);
    expect(status).toBe(404);
    expect((await world.gateway.approvals.get(id))?.state).toBe('pending');
    expect(world.decisions.lines.find((l) => l.approval === id && l.caller === 'spiffe://people.test/mallory')).toMatchObject({
      action: 'toolgate.v1.Approvals/Approve',
      decision: 'deny',
      httpStatus: 404,
      reason: 'approvals console: not an approver of group "payroll-owners"',
    });
    await world.gateway.approvals.deny(id, ALICE);
    await call.catch(() => undefined);
  }, 60_000);

  it('refuses a decision without the CSRF token, or from another origin, and leaves the request pending', async () => {
    const { id, call } = await heldCall('/payroll/q3.csv');
    const { page, url } = await signedIn('alice');
    await page.goto(url);
    await page.locator(`article[data-approval="${id}"]`).waitFor({ timeout: 15_000 });
    const statuses = await page.evaluate(async (approval) => {
      const post = (headers: Record<string, string>) => fetch(`api/requests/${approval}/approve`, { method: 'POST', headers, body: '{}' }).then((r) => r.status);
      return [await post({ 'content-type': 'application/json' }), await post({ 'content-type': 'application/json', 'x-toolgate-csrf': 'A'.repeat(43) })];
    }, id);
    expect(statuses).toEqual([403, 403]);

    // Another site's page posting a form at the console: no session cookie (SameSite), a foreign Origin.
    const evil = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<form method="POST" action="${url}api/requests/${id}/approve"></form><script>document.forms[0].submit()</script>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    try {
      const answered = page.waitForResponse((r) => r.url().endsWith(`/${id}/approve`));
      await page.goto(`http://localhost:${(evil.address() as AddressInfo).port}/`);
      expect((await answered).status()).toBe(403);
    } finally {
      evil.closeAllConnections();
      evil.close();
    }
    expect((await world.gateway.approvals.get(id))?.state).toBe('pending');
    await world.gateway.approvals.deny(id, ALICE);
    await call.catch(() => undefined);
  }, 60_000);

  it('only the proxy reaches the console: another SVID, or none, is refused at the handshake; the proxy without a user header gets 401', async () => {
    const address = world.gateway.consoleAddress!;
    await expect(direct(address, await world.spiffe.workload(RESEARCH_BOT), { 'x-forwarded-user': 'alice' })).rejects.toThrow();
    await expect(direct(address, undefined, { 'x-forwarded-user': 'alice' })).rejects.toThrow();
    expect(await direct(address, proxySource, {})).toBe(401);
    expect(await direct(address, proxySource, { 'x-forwarded-user': '../alice' })).toBe(401);
    expect(await direct(address, proxySource, { 'x-forwarded-user': 'alice' }, '/')).toBe(200);
  }, 30_000);
});
