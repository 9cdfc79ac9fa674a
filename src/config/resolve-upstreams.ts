import { GATEWAY_RESOURCE, TASKS_SERVICE } from '../tasks/tasks-api';
import { existingFile } from './file-paths';
import type { McpUpstreamConfig, UpstreamConfig } from './gateway-config';
import { parseHostPort } from '../net/host-port';
import type { IssueList } from './issue-list';
import { formatKeyPath, type KeyPath } from './key-path';
import { asList, asRecord, asString, stringItems } from './raw-value';
import { parseWorkloadId } from './spiffe-id-value';
import { resolveMcpUpstream } from './resolve-mcp-upstream';

/** Services the gateway answers itself on its listener; no upstream may claim them. */
const GATEWAY_SERVICES = new Set(['grpc.health.v1.Health', TASKS_SERVICE]);

/**
 * The `upstreams` list: unique names, each service routed to exactly one upstream, a
 * valid address and peer SPIFFE ID, and proto files that exist (or reflection, not both);
 * or, with `mcp`, an MCP server (resolve-mcp-upstream.ts). Names are unique across both.
 */
export function resolveUpstreams(value: unknown, baseDir: string, issues: IssueList): { upstreams: UpstreamConfig[]; mcpUpstreams: McpUpstreamConfig[] } {
  const names = new Map<string, KeyPath>();
  const routes = new Map<string, { name: string | undefined; index: number }>();
  const upstreams: UpstreamConfig[] = [];
  const mcpUpstreams: McpUpstreamConfig[] = [];

  asList(value).forEach((item, i) => {
    const path: KeyPath = ['upstreams', i];
    const raw = asRecord(item);
    const name = asString(raw.name);
    if (name === GATEWAY_RESOURCE) issues.add([...path, 'name'], `upstream name "${GATEWAY_RESOURCE}" is reserved for the gateway's own services (Tool::"${GATEWAY_RESOURCE}")`);
    if (name !== undefined) {
      const first = names.get(name);
      if (first) issues.add([...path, 'name'], `duplicate upstream name ${JSON.stringify(name)} (also ${formatKeyPath(first)})`);
      else names.set(name, [...path, 'name']);
    }
    if (raw.mcp != null) {
      const mcp = resolveMcpUpstream(raw, name, path, baseDir, issues);
      if (mcp) mcpUpstreams.push(mcp);
      return;
    }

    const services = stringItems(raw.services);
    for (const [service, k] of services) {
      const servicePath = [...path, 'services', k];
      const routed = routes.get(service);
      if (GATEWAY_SERVICES.has(service)) {
        issues.add(servicePath, `service ${JSON.stringify(service)} is served by the gateway itself`);
      } else if (routed && routed.index !== i) {
        // A service listed twice in one upstream is the schema's uniqueItems error.
        issues.add(servicePath, `service ${JSON.stringify(service)} is routed to two upstreams: ${upstreamName(routed.name, routed.index)} and ${upstreamName(name, i)}`);
      } else {
        routes.set(service, { name, index: i });
      }
    }

    const address = asString(raw.address);
    if (address !== undefined) {
      issues.check([...path, 'address'], `invalid address ${JSON.stringify(address)}`, () => parseHostPort(address, { allowPortZero: false }));
    }
    const spiffeId = asString(raw.spiffeId);
    const id = spiffeId === undefined ? undefined : issues.check([...path, 'spiffeId'], `invalid SPIFFE ID ${JSON.stringify(spiffeId)}`, () => parseWorkloadId(spiffeId));
    const protos = stringItems(raw.protos).flatMap(([proto, k]) => {
      const absolute = issues.check([...path, 'protos', k], undefined, () => existingFile(proto, baseDir));
      return absolute === undefined ? [] : [absolute];
    });

    // Two sources of descriptors could disagree; which one policy sees must not be a guess.
    const reflection = raw.reflection === true;
    if (reflection && stringItems(raw.protos).length > 0) {
      issues.add([...path, 'reflection'], 'set either protos or reflection, not both');
    }

    if (name !== undefined && address !== undefined && id) {
      upstreams.push({ name, services: services.map(([s]) => s), address, spiffeId: id, protos, reflection });
    }
  });
  return { upstreams, mcpUpstreams };
}

function upstreamName(name: string | undefined, index: number): string {
  return name === undefined ? `upstreams[${index}]` : `"${name}" (upstreams[${index}])`;
}
