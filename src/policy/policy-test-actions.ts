import type { GatewayConfig } from '../config/gateway-config';
import { didYouMean } from '../config/did-you-mean';
import { BEGIN_TASK, END_TASK, GET_TASK, TASKS_SERVICE } from '../tasks/tasks-api';
import { schemaToJson } from './cedar';
import { findService, loadProtoRoot, methodsOf } from '../protos/proto-files';
import { mcpDecidedActions } from './mcp-schema';

/**
 * The actions the gateway can ask Cedar about, as far as they can be known offline: the
 * gateway's own BeginTask, the methods of every routed service, and the MCP actions of every
 * MCP upstream (docs/mcp.md, "What is decided"). A service's methods come from its upstream's
 * protos (what the gateway itself reads) or, without them, from the action group the policy
 * folder's schema declares for it; an MCP upstream's actions from its catalog (`mcp.tools`)
 * or, without one, from the actions the schema declares for it. A service or MCP upstream
 * known to neither (server reflection, no catalog, and no schema) cannot be checked offline:
 * its actions are taken on trust.
 *
 * A policy test naming any other action would be decided (deny, as nothing permits it) and
 * could pass while proving nothing: a typo in the action, or a tool that is not configured.
 */
export class KnownActions {
  private constructor(
    /** Routed service → its methods' action ids, or undefined when they cannot be known offline. */
    private readonly services: ReadonlyMap<string, ReadonlySet<string> | undefined>,
  ) {}

  /** From the config's upstreams and the policy folder's schema text (when it has one). */
  static of(config: Pick<GatewayConfig, 'upstreams'> & Partial<Pick<GatewayConfig, 'mcpUpstreams'>>, schema: string | undefined): KnownActions {
    const declared = schemaActions(schema);
    const services = new Map<string, ReadonlySet<string> | undefined>();
    // An MCP upstream stands where a service does: its actions are `mcp:<upstream>/...`, by prefix.
    for (const upstream of config.mcpUpstreams ?? []) {
      const prefix = `mcp:${upstream.name}`;
      const fromSchema = [...declared].filter(([group]) => group === prefix || group.startsWith(`${prefix}/`)).flatMap(([, actions]) => [...actions]);
      const known = upstream.tools !== undefined ? mcpDecidedActions(upstream.name, upstream.tools) : fromSchema.length > 0 ? fromSchema : undefined;
      services.set(prefix, known && new Set(known));
    }
    for (const upstream of config.upstreams) {
      const root = protoRoot(upstream.protos);
      for (const service of upstream.services) {
        const found = root && findService(root, service);
        services.set(service, found ? new Set(methodsOf(found, service).map((m) => m.action)) : declared.get(service));
      }
    }
    return new KnownActions(services);
  }

  /** Why no call to `action` can ever be decided by the gateway's policies; undefined when one can (or it cannot be told). */
  problem(action: string): string | undefined {
    if (action === BEGIN_TASK) return undefined;
    if (action === END_TASK || action === GET_TASK) {
      return `action "${action}" is never decided by policy: a caller may always end or read its own tasks`;
    }
    const service = action.startsWith('mcp:') ? mcpPrefix(action) : action.slice(0, Math.max(0, action.lastIndexOf('/')));
    if (this.services.has(service) && this.services.get(service) === undefined) return undefined;
    if (this.services.get(service)?.has(action)) return undefined;
    const member = [...(this.services.get(service) ?? [])].find((a) => a.startsWith(`${action}/`));
    if (member !== undefined) return `action "${action}" is an action group, never asked about itself: a request names one of its members, such as "${member}"`;
    const known = this.services.has(service) || service === TASKS_SERVICE;
    const reason = service.startsWith('mcp:')
      ? known
        ? `MCP upstream "${service.slice(4)}" has no such action (its catalog, mcp.tools, lists its tools and prompts)`
        : `no MCP upstream is named "${service.slice(4)}"`
      : known
        ? `service "${service}" has no such method`
        : `no upstream routes service "${service}"`;
    const suggestion = didYouMean(action, this.all());
    return `unknown action "${action}": ${reason}${suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`}`;
  }

  private all(): string[] {
    const actions = [BEGIN_TASK];
    for (const methods of this.services.values()) actions.push(...(methods ?? []));
    return actions;
  }
}

/** `mcp:<upstream>` of an MCP action `mcp:<upstream>/<method>[/<name>]`. */
function mcpPrefix(action: string): string {
  const slash = action.indexOf('/');
  return slash < 0 ? action : action.slice(0, slash);
}

function protoRoot(protos: readonly string[]) {
  if (protos.length === 0) return undefined;
  try {
    return loadProtoRoot(protos);
  } catch {
    // `toolgate check` reports protos that do not load; here they only leave the methods unknown.
    return undefined;
  }
}

/** Action group (service) → its member actions, from a schema in Cedar's human-readable syntax. */
function schemaActions(schema: string | undefined): Map<string, Set<string>> {
  const groups = new Map<string, Set<string>>();
  const parsed = schema === undefined ? undefined : schemaToJson(schema);
  if (parsed === undefined || parsed.type === 'failure') return groups;
  for (const namespace of Object.values(parsed.json as Record<string, { actions?: Record<string, unknown> }>)) {
    for (const action of Object.keys(namespace.actions ?? {})) {
      const slash = action.lastIndexOf('/');
      if (slash <= 0 || action.slice(0, slash) === TASKS_SERVICE) continue;
      const service = action.slice(0, slash);
      groups.set(service, (groups.get(service) ?? new Set()).add(action));
    }
  }
  return groups;
}
