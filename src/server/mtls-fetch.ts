import * as https from 'node:https';
import { Readable } from 'node:stream';
import type { Authorizer } from '../spiffe/tls/authorizer';
import { mtlsClientOptions } from '../spiffe/tls/mtls-client';
import type { X509TlsSource } from '../spiffe/tls/secure-context-cache';

export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

/**
 * A fetch over HTTP/1.1 and mTLS presenting `source`'s SVID and accepting only a server that
 * `authorize` allows, for the MCP SDK client's transport: Node's own fetch cannot present a
 * client certificate (docs/mcp.md, "Pointing an MCP client at the gateway").
 */
export function mtlsFetch(source: X509TlsSource, authorize: Authorizer): FetchLike {
  const tls = mtlsClientOptions(source, authorize, ['http/1.1']);
  const agent = new https.Agent({ keepAlive: false, maxCachedSessions: 0 });
  return agentFetch(agent, () => tls());
}

/**
 * A fetch over `node:https` with `agent` (and, per request, `options`: the TLS options of an
 * agent that does not set them itself), answering a web `Response` whose body streams as the
 * server writes it (an MCP server's SSE answers).
 */
export function agentFetch(agent: https.Agent, options: () => https.RequestOptions = () => ({})): FetchLike {
  return (url, init) =>
    new Promise((resolve, reject) => {
      const headers = Object.fromEntries(new Headers(init?.headers).entries());
      const req = https.request(new URL(url), { method: init?.method ?? 'GET', headers, agent, ...options(), ...(init?.signal && { signal: init.signal }) });
      req.once('error', reject);
      req.once('response', (res) => {
        const status = res.statusCode ?? 502;
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const v of ([] as string[]).concat(value ?? [])) responseHeaders.append(name, v);
        }
        const empty = status === 204 || status === 304;
        resolve(new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, headers: responseHeaders }));
      });
      req.end(typeof init?.body === 'string' ? init.body : undefined);
    });
}
