import { setMaxListeners } from 'node:events';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { z } from 'zod';
import type { GatewayConfig, McpUpstreamConfig } from '../config/gateway-config';
import { mintCallToken } from '../credentials/call-token';
import { KeyRing } from '../credentials/key-ring';
import { errorMessage } from '../errors/unknown-error';
import { mcpAction } from '../mcp/mcp-question';
import { McpUpstreamAgent } from '../server/mcp-upstream-agent';
import { AUTHORIZATION_HEADER } from '../server/owned-headers';
import { X509Source } from '../spiffe/workload/x509-source';
import { isActionSegment } from '../config/tool-catalog';
import type { CatalogItem, McpCatalog } from './mcp-catalog-file';
import { McpFetchError, type McpFetchStage } from './mcp-fetch-error';
import { printable } from './printable';
import { UpstreamFetch } from './mcp-upstream-fetch';

/**
 * Largest answer read, in bytes: the relay's default `maxInspectedBytes`, past which the
 * gateway does not relay a list answer either (docs/mcp.md, "Streaming").
 */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;
/** Most pages of one list: a server answering endless (even empty) pages is refused, not followed forever. */
const MAX_PAGES = 1000;

export interface FetchCatalogOptions {
  readonly config: GatewayConfig;
  readonly upstream: McpUpstreamConfig;
  /** The whole fetch, the Workload API included, ends with an error past this. */
  readonly timeoutMs: number;
  /** Most tools (and, apart, most prompts) taken; a server listing more is refused. */
  readonly maxItems: number;
  /** Aborts the fetch (SIGINT). */
  readonly signal: AbortSignal;
  /** Tells the operator something that is not an error (on stderr). */
  readonly note: (line: string) => void;
}

/** One item as listed: any object with a string `name`, every member kept as the server sent it. */
const ITEM = z.looseObject({ name: z.string() });
const TOOLS_PAGE = z.looseObject({ tools: z.array(ITEM), nextCursor: z.string().optional() });
const PROMPTS_PAGE = z.looseObject({ prompts: z.array(ITEM), nextCursor: z.string().optional() });

/**
 * Fetches an MCP upstream's tool and prompt definitions as the gateway would see them: over
 * https with the gateway's X.509-SVID from the config's Workload API and the gateway's own
 * upstream agent (the upstream's SPIFFE ID checked), over loopback http plainly; with the
 * gateway's per-call JWT when the gateway would send one and the config names the signing key
 * file (`callTokenHeaders`). Every page is followed, bounded by `maxItems`, `MAX_PAGES`,
 * `MAX_ANSWER_BYTES` and `timeoutMs`. Rejects with `McpFetchError` naming the stage that failed.
 */
export async function fetchCatalog(options: FetchCatalogOptions): Promise<McpCatalog> {
  const { config, upstream } = options;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  // Aborted when an answer is too large, to end the fetch at once.
  const stop = new AbortController();
  const signal = AbortSignal.any([options.signal, timeout, stop.signal]);
  // Every request of the fetch listens to it (up to MAX_PAGES of them): not a leak.
  setMaxListeners(0, signal);
  const closers: Array<() => unknown> = [];
  const failure = (stage: McpFetchStage, err: unknown, fetcher?: UpstreamFetch): McpFetchError => {
    if (err instanceof McpFetchError) return err;
    if (fetcher?.tooLarge) return new McpFetchError(stage, `the server's answer is over ${MAX_ANSWER_BYTES} bytes`);
    if (fetcher?.connectError !== undefined) return new McpFetchError('connect', `${upstream.url}: ${fetcher.connectError}`);
    if (timeout.aborted) return new McpFetchError(stage, `timed out after ${options.timeoutMs / 1000} s`);
    if (options.signal.aborted) return new McpFetchError(stage, 'interrupted');
    const status = fetcher?.httpError === undefined ? '' : `HTTP ${fetcher.httpError}: `;
    return new McpFetchError(stage, `${status}${errorMessage(err)}`, { cause: err });
  };
  try {
    const https = upstream.url.startsWith('https:');
    // The gateway sends a JWT to an upstream with a SPIFFE ID; the fetch can mint one only with the gateway's shared key.
    const withToken = upstream.spiffeId !== undefined && config.credentials.signingKeyFile !== undefined;
    if (upstream.spiffeId !== undefined && !withToken) {
      options.note(
        'note: no call token sent: without credentials.signingKeyFile each gateway signs with a key of its own, so no token minted here would verify (a server requiring one refuses the fetch)',
      );
    }
    let source: X509Source | undefined;
    if (https || withToken) {
      const address = config.spiffe.endpointSocket;
      try {
        source = await X509Source.create({ address, timeoutMs: options.timeoutMs, signal });
      } catch (err) {
        const within = timeout.aborted ? ` within ${options.timeoutMs / 1000} s` : '';
        throw new McpFetchError('workload API', `no X.509-SVID from ${address ?? '$SPIFFE_ENDPOINT_SOCKET'}${within}: ${errorMessage(err)}`, { cause: err });
      }
      closers.push(() => source!.close());
    }
    const headers = withToken ? await callTokenHeaders(config, upstream, source!, closers) : undefined;
    const agent = https ? new McpUpstreamAgent(source!, upstream.spiffeId!) : undefined;
    if (agent) closers.push(() => agent.destroy());
    const fetcher = new UpstreamFetch({ signal, maxAnswerBytes: MAX_ANSWER_BYTES, onTooLarge: () => stop.abort(), ...(agent && { agent }), ...(headers && { headers }) });
    const client = new Client({ name: 'toolgate-mcp-tools', version: '1.0.0' });
    closers.unshift(() => client.close());
    // The SDK's own timeout too, so that its 60 s default never outlasts ours.
    const requestOptions: RequestOptions = { signal, timeout: options.timeoutMs };
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(upstream.url), { fetch: fetcher.fetch }), requestOptions);
    } catch (err) {
      throw failure('initialize', err, fetcher);
    }
    const tools = await listAll('tools', options.maxItems, async (cursor) => {
      const { tools: items, nextCursor } = await client.request({ method: 'tools/list', params: cursorParams(cursor) }, TOOLS_PAGE, requestOptions);
      return { items, nextCursor };
    }).catch((err: unknown) => Promise.reject(failure('list tools', err, fetcher)));
    // A server without the prompts capability has no prompts/list: the file then has no `prompts`.
    if (client.getServerCapabilities()?.prompts === undefined) return { upstream: upstream.name, tools: callable(tools, 'tool', options.note) };
    const prompts = await listAll('prompts', options.maxItems, async (cursor) => {
      const { prompts: items, nextCursor } = await client.request({ method: 'prompts/list', params: cursorParams(cursor) }, PROMPTS_PAGE, requestOptions);
      return { items, nextCursor };
    }).catch((err: unknown) => Promise.reject(failure('list prompts', err, fetcher)));
    return { upstream: upstream.name, tools: callable(tools, 'tool', options.note), prompts: callable(prompts, 'prompt', options.note) };
  } finally {
    for (const close of closers)
      await Promise.resolve()
        .then(close)
        .catch(() => undefined);
  }
}

/**
 * The items whose names can name an action: one with a `/` is refused by the gateway and by
 * a catalog (config/tool-catalog.ts, `isActionSegment`), so it is left out, with a note, and
 * the file written stays one the gateway loads.
 */
function callable(items: readonly CatalogItem[], kind: string, note: (line: string) => void): CatalogItem[] {
  return items.filter((item) => {
    if (isActionSegment(item.name)) return true;
    note(`note: ${kind} ${printable(item.name)} left out: a name with a "/" cannot be called through the gateway`);
    return false;
  });
}

function cursorParams(cursor: string | undefined): { cursor?: string } {
  return cursor === undefined ? {} : { cursor };
}

/** One page of a list answer. */
type Page = { readonly items: readonly CatalogItem[]; readonly nextCursor?: string | undefined };

/** Every item of every page, following `nextCursor`; refuses a repeated name, a repeated cursor, too many items or pages. */
async function listAll(member: 'tools' | 'prompts', maxItems: number, page: (cursor: string | undefined) => Promise<Page>): Promise<CatalogItem[]> {
  const stage: McpFetchStage = member === 'tools' ? 'list tools' : 'list prompts';
  const items: CatalogItem[] = [];
  const names = new Set<string>();
  const cursors = new Set<string>();
  let cursor: string | undefined;
  for (let pages = 1; ; pages++) {
    const result = await page(cursor);
    for (const item of result.items) {
      if (names.has(item.name)) throw new McpFetchError(stage, `the server lists ${member === 'tools' ? 'tool' : 'prompt'} "${printable(item.name)}" twice`);
      names.add(item.name);
      items.push(item);
      if (items.length > maxItems) throw new McpFetchError(stage, `the server lists more than ${maxItems} ${member}`);
    }
    cursor = result.nextCursor;
    if (cursor === undefined) return items;
    if (cursors.has(cursor)) throw new McpFetchError(stage, 'the server gives a cursor it gave before (a loop)');
    if (pages >= MAX_PAGES) throw new McpFetchError(stage, `the server gives more than ${MAX_PAGES} pages`);
    cursors.add(cursor);
  }
}

/**
 * The per-call JWT on every request, as the gateway mints it for a relayed one
 * (server/mcp-call-token.ts): signed with the config's signing key file, `iss` the gateway's
 * SPIFFE ID, `aud` the upstream's. The caller is the gateway itself (the operator holds its
 * SVID), so `sub` is the gateway's ID too and there is no `agent`; `scope` is the list action
 * the request asks (`mcp:<upstream>/tools/list`), empty for the protocol's plumbing, as in a
 * relayed request. The token is a bearer secret: it goes in the header only.
 */
async function callTokenHeaders(
  config: GatewayConfig,
  upstream: McpUpstreamConfig,
  source: X509Source,
  closers: Array<() => unknown>,
): Promise<(body: string | undefined) => Record<string, string>> {
  // Read and imported exactly as at start; a bad file throws naming it, never its content.
  const ring = await KeyRing.create({ signingKeyFile: config.credentials.signingKeyFile!, rotateSeconds: config.credentials.rotateSeconds, retainSeconds: 0 });
  closers.push(() => ring.close());
  const gatewayId = source.getX509Svid().id.toString();
  const audience = upstream.spiffeId!.toString();
  return (body) => {
    const token = mintCallToken(ring.keys, {
      issuer: gatewayId,
      subject: gatewayId,
      audience,
      scope: listAction(upstream.name, body),
      ttlSeconds: config.credentials.upstreamTokenTtlSeconds,
    });
    return { [AUTHORIZATION_HEADER]: `Bearer ${token}` };
  };
}

/** The Cedar action of a list request's body, as the relay names it; empty for anything else. */
function listAction(upstream: string, body: string | undefined): string {
  if (body === undefined) return '';
  let method: unknown;
  try {
    method = (JSON.parse(body) as { method?: unknown }).method;
  } catch {
    return '';
  }
  return method === 'tools/list' || method === 'prompts/list' ? mcpAction(upstream, method) : '';
}
