import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { IdentityMapper } from '../identity/identity-mapper';
import type { PolicyEngine } from '../policy/policy-engine';
import type { Principal } from '../identity/principal';
import type { SpiffeId } from '../spiffe/id/spiffe-id';
import type { Admission } from './call-guard';
import type { RouteTable } from './route-table';

/**
 * How the caller proved its identity: an X.509-SVID on the mTLS listener, or a bearer
 * token on the token listener (a JWT-SVID, or an OIDC workload token from a configured issuer).
 */
export type CallerAuthn = 'x509-svid' | 'jwt-svid' | 'oidc';

/** An authenticated caller: once per connection for mTLS, once per token for bearer callers. */
export interface Caller {
  id: SpiffeId;
  /** `context.peer` for every call on the connection. */
  peer: { spiffeId: string; trustDomain: string; authn: CallerAuthn };
  /**
   * What MCP sessions are bound to when it is not `peer.spiffeId`: `<iss>#<sub>` for an OIDC
   * workload token, so that a session stays with the issuer's subject that opened it.
   */
  key?: string;
}

/** What the pipeline decides with; replaced as a whole when config or policies reload. */
export interface GatewayState {
  identities: IdentityMapper;
  engine: PolicyEngine;
  /** Names the policy set in every decision record. */
  policyHash: string;
  routes: RouteTable;
}

/**
 * One call on its way through the pipeline: what every step of it and every record of it
 * share, made once when the call arrives and filled in as it is learnt (the principal once
 * the caller is mapped, the admission once the guard has admitted it).
 */
export interface CallContext {
  readonly stream: ServerHttp2Stream;
  readonly headers: IncomingHttpHeaders;
  readonly caller: Caller;
  /** The state the call is decided with from start to end, even if a reload swaps another in meanwhile. */
  readonly state: GatewayState;
  readonly decisionId: string;
  /** `package.Service/Method`, or the raw `:path` of a request that names no method. */
  readonly action: string;
  /** The upstream's name, `toolgate` for the Tasks service; undefined while (or if never) routed. */
  readonly resource: string | undefined;
  /** `performance.now()` when the call arrived. */
  readonly started: number;
  principal?: Principal;
  /** `Agent::"name"`: the principal as Cedar and the records name it. */
  principalLabel?: string;
  /** `context.metadata`: the request headers `metadata.allow` lists. */
  metadata?: Record<string, string>;
  /** What the guard admitted the call with: its task, rate and on-behalf-of user. */
  admission: Admission;
  /** A payload-aware single-request call's one message, `sha256:<hex>` of it as relayed: on every record of the call once it is read. */
  requestDigest?: string;
}

/** A call whose caller is mapped to a principal and that is routed: what a decision needs. */
export interface IdentifiedCall extends CallContext {
  readonly resource: string;
  principal: Principal;
  principalLabel: string;
  metadata: Record<string, string>;
}

/** `Agent::"name"`: the principal as Cedar names it. */
export function principalLabel(principal: Principal): string {
  return `${principal.type}::"${principal.id}"`;
}
