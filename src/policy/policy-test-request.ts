import type { GatewayConfig } from '../config/gateway-config';
import type { AuthorizationRequest } from './authorization';
import type { CedarValue } from '../identity/cedar-value';
import { resolvePrincipal, type PrincipalSpec } from './policy-test-principal';
import type { Principal } from '../identity/principal';
import { InvalidValueError } from '../errors/invalid-value-error';

/** One request as a policy test case or `toolgate policy explain` describes it. */
export interface RequestSpec {
  readonly principal: PrincipalSpec;
  /** `"<package.Service>/<Method>"`, or an MCP action `"mcp:<upstream>/<method>[/<name>]"`. */
  readonly action: string;
  /** The upstream's name; default: the upstream the action's service is routed to (for MCP, the one it names). */
  readonly resource?: string;
  /** How the caller authenticated, for `context.peer.authn`; default `x509-svid`. */
  readonly authn?: 'x509-svid' | 'jwt-svid';
  /** Request headers, for `context.metadata`; each must be in the config's `metadata.allow`. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** The decoded request message (for MCP, the tool's or prompt's arguments, or the params), for `context.request`. */
  readonly request?: Readonly<Record<string, CedarValue>>;
  /** Context attributes set as given, over those built from the fields above (`stream`, say). */
  readonly context?: Readonly<Record<string, CedarValue>>;
}

/** The parts of the config a request is resolved against. */
export type RequestConfig = Pick<GatewayConfig, 'spiffe' | 'identities' | 'upstreams' | 'metadata'> & Partial<Pick<GatewayConfig, 'mcpUpstreams'>>;

/**
 * The `AuthorizationRequest` the gateway would make for `spec`: the principal resolved
 * through the identity rules, `context.peer` from the principal's SPIFFE ID, and
 * `context.metadata` holding only allowed headers, as the call pipeline builds them.
 * Throws `InvalidValueError` when `spec` describes a request the gateway could not make.
 */
export function buildRequest(spec: RequestSpec, config: RequestConfig): AuthorizationRequest {
  const principal = resolvePrincipal(spec.principal, config.identities, config.spiffe.trustDomains);
  const metadata = spec.metadata ?? {};
  const refused = Object.keys(metadata).filter((header) => !config.metadata.allow.includes(header));
  if (refused.length > 0) {
    throw new InvalidValueError(`metadata ${refused.join(', ')} not in the config's metadata.allow: the gateway never passes it to policies`);
  }
  return {
    principal,
    action: spec.action,
    resource: spec.resource ?? routedUpstream(spec.action, config),
    context: {
      peer: peerOf(principal, spec.authn ?? 'x509-svid'),
      metadata,
      ...(spec.request !== undefined && { request: spec.request }),
      ...spec.context,
    },
  };
}

function routedUpstream(action: string, config: RequestConfig): string {
  // An MCP action names its upstream: `mcp:<upstream>/<method>[/<name>]` (docs/mcp.md).
  const mcp = /^mcp:([^/]+)\//.exec(action);
  if (mcp !== null) {
    if ((config.mcpUpstreams ?? []).some((u) => u.name === mcp[1])) return mcp[1]!;
    throw new InvalidValueError(`no MCP upstream is named "${mcp[1]}" (action "${action}"); give the resource`);
  }
  const service = action.slice(0, Math.max(0, action.lastIndexOf('/')));
  const upstream = config.upstreams.find((u) => u.services.includes(service));
  if (upstream === undefined) throw new InvalidValueError(`no upstream routes service "${service}" of action "${action}"; give the resource`);
  return upstream.name;
}

/** An explicit principal may lack `spiffeId` or `trustDomain`; the peer then lacks them too. */
function peerOf(principal: Principal, authn: string): Record<string, CedarValue> {
  const { spiffeId, trustDomain } = principal.attrs;
  return { ...(typeof spiffeId === 'string' && { spiffeId }), ...(typeof trustDomain === 'string' && { trustDomain }), authn };
}
