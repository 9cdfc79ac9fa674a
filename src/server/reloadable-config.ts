import { isDeepStrictEqual } from 'node:util';
import type { GatewayConfig, McpUpstreamConfig } from '../config/gateway-config';
import type { McpToolCatalog } from '../config/tool-catalog';

/**
 * How each config key takes effect. `live`: a reload applies it. `restart`: it is bound at
 * start and a reload keeps the running value, because applying it means re-creating what
 * calls are using: the listeners and their TLS peer check (`listen`, `admin`, `spiffe`),
 * the upstream connections and routes (`upstreams`), the call pipeline's options
 * (`metadata`, `limits`), the decision log's file (`decisionLog`), the task store, signing
 * keys and token listener (`tasks`, `credentials`, `state`, `workloadTokens`, `onBehalfOf`).
 *
 * A `Record` over every key, so that a new config key does not compile until it is
 * classified here.
 */
const APPLIES: Readonly<Record<keyof GatewayConfig, 'live' | 'restart'>> = {
  policies: 'live',
  shadowPolicies: 'live',
  identities: 'live',
  logLevel: 'live',
  drainTimeoutSeconds: 'live',
  reload: 'live',
  spiffe: 'restart',
  listen: 'restart',
  admin: 'restart',
  upstreams: 'restart',
  mcpUpstreams: 'restart',
  metadata: 'restart',
  limits: 'restart',
  decisionLog: 'restart',
  // Bound into the task store, the key ring and the token listener at start. A reload does
  // re-read the signing key file itself (a rotated Secret), just not a new path.
  tasks: 'restart',
  credentials: 'restart',
  state: 'restart',
  // Bound into the call pipeline at start, as `limits` are.
  approvals: 'restart',
  workloadTokens: 'restart',
  onBehalfOf: 'restart',
  // Bound into the policy loader's options at start: every engine a reload builds uses the running value.
  policyEngine: 'restart',
};

/** How a reload names a change of any MCP upstream's tool catalog (its file's content, or the key). */
export const MCP_CATALOGS = 'mcpUpstreams[].mcp.tools';

export interface ConfigChanges {
  /** The config to run with: the new one, with every restart key at its running value. */
  readonly config: GatewayConfig;
  /** Live keys whose value changed: applied. */
  readonly applied: readonly string[];
  /** Restart keys whose value changed: not applied until the gateway restarts. */
  readonly restartNeeded: readonly string[];
}

/** What of `next` a reload can apply to a gateway running `running`. */
export function reloadableConfig(running: GatewayConfig, next: GatewayConfig): ConfigChanges {
  const config: Record<string, unknown> = { ...next };
  const applied: string[] = [];
  const restartNeeded: string[] = [];
  // The MCP upstreams' catalogs (`mcp.tools`) are live, the rest of each upstream restart-only:
  // re-pinning a tool is the operator updating the file, and must not need a restart.
  if (!isDeepStrictEqual(catalogs(running), catalogs(next))) applied.push(MCP_CATALOGS);
  for (const [key, applies] of Object.entries(APPLIES) as Array<[keyof GatewayConfig, 'live' | 'restart']>) {
    if (key === 'mcpUpstreams') {
      if (isDeepStrictEqual(running.mcpUpstreams.map(withoutCatalog), next.mcpUpstreams.map(withoutCatalog))) continue;
      restartNeeded.push(key);
      // The running upstreams, each with its catalog as now read (none, for one the new file drops).
      const nextCatalogs = catalogs(next);
      config.mcpUpstreams = running.mcpUpstreams.map((u) => ({ ...withoutCatalog(u), ...(nextCatalogs.get(u.name) && { tools: nextCatalogs.get(u.name) }) }));
      continue;
    }
    if (isDeepStrictEqual(running[key], next[key])) continue;
    if (applies === 'live') {
      applied.push(key);
      continue;
    }
    restartNeeded.push(key);
    // Optional keys (`admin`) stay absent when they were absent.
    if (running[key] === undefined) delete config[key];
    else config[key] = running[key];
  }
  return { config: config as unknown as GatewayConfig, applied, restartNeeded };
}

function withoutCatalog(upstream: McpUpstreamConfig): McpUpstreamConfig {
  const { tools: _tools, ...rest } = upstream;
  return rest;
}

/** Each MCP upstream's catalog, by upstream name. */
function catalogs(config: GatewayConfig): Map<string, McpToolCatalog | undefined> {
  return new Map(config.mcpUpstreams.map((u) => [u.name, u.tools]));
}
