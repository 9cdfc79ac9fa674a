import { InvalidValueError } from '../errors/invalid-value-error';
import { isLoopbackHost } from '../net/loopback-host';
import type { McpUpstreamConfig } from './gateway-config';
import type { IssueList } from './issue-list';
import type { KeyPath } from './key-path';
import { asRecord, asString, type RawRecord } from './raw-value';
import { parseWorkloadId } from './spiffe-id-value';
import { existingFile } from './file-paths';
import { readToolCatalog } from './tool-catalog';

/** Keys of a gRPC upstream that mean nothing for an MCP server: set, they would suggest a route that does not exist. */
const GRPC_ONLY_KEYS = ['services', 'address', 'protos', 'reflection'] as const;

/**
 * One `upstreams[]` item with `mcp`: its URL (https with the upstream's `spiffeId`, or http
 * to a loopback host), and none of the gRPC keys. Undefined when anything is wrong (the
 * issues say what).
 */
export function resolveMcpUpstream(raw: RawRecord, name: string | undefined, path: KeyPath, baseDir: string, issues: IssueList): McpUpstreamConfig | undefined {
  for (const key of GRPC_ONLY_KEYS) {
    if (raw[key] != null) issues.add([...path, key], `an MCP upstream (mcp.url) takes no ${key}: MCP calls are routed by /mcp/<name>`);
  }
  const rawUrl = asString(asRecord(raw.mcp).url);
  const toolsFile = asString(asRecord(raw.mcp).tools);
  // Read and checked here, so that a bad catalog stops a start, and a reload keeps the pins in force.
  const tools = toolsFile === undefined ? undefined : issues.check([...path, 'mcp', 'tools'], undefined, () => readToolCatalog(existingFile(toolsFile, baseDir)));
  const spiffeId = asString(raw.spiffeId);
  const id = spiffeId === undefined ? undefined : issues.check([...path, 'spiffeId'], `invalid SPIFFE ID ${JSON.stringify(spiffeId)}`, () => parseWorkloadId(spiffeId));
  const url = rawUrl === undefined ? undefined : issues.check([...path, 'mcp', 'url'], `invalid MCP url ${JSON.stringify(rawUrl)}`, () => mcpUrl(rawUrl));
  if (url?.protocol === 'https:' && spiffeId === undefined) {
    issues.add([...path, 'spiffeId'], 'missing required key: an https MCP upstream is reached over mTLS, and its SPIFFE ID is what the gateway checks');
  }
  if (name === undefined || url === undefined || (url.protocol === 'https:' && id === undefined)) return undefined;
  if (toolsFile !== undefined && tools === undefined) return undefined;
  return { name, url: url.toString(), ...(id !== undefined && { spiffeId: id }), ...(tools !== undefined && { tools }) };
}

/** An MCP endpoint URL: https, or http to a loopback host only (plain http elsewhere could be read and changed on the way). */
function mcpUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidValueError('not a URL');
  }
  if (url.username !== '' || url.password !== '') throw new InvalidValueError('must not hold credentials');
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url;
  if (url.protocol === 'http:')
    throw new InvalidValueError(`http is allowed to a loopback host only (127.0.0.0/8, [::1], localhost), not ${url.hostname}: use https with the upstream's spiffeId`);
  throw new InvalidValueError(`must be https, or http to a loopback host, not ${url.protocol.replace(/:$/, '')}`);
}
