import type { IdentityRule } from '../identity/identity-rule';
import type { OidcIssuerConfig } from '../identity/oidc-issuer';
import type { OidcWorkloadIssuerConfig } from '../identity/workload-token-authenticator';
import type { HostPort } from '../net/host-port';
import type { SpiffeId, TrustDomain } from '../spiffe/id';
import type { LogLevel } from './defaults';
import type { McpToolCatalog } from './tool-catalog';

export type { HostPort };

export interface UpstreamConfig {
  /** The Cedar resource `Tool::"<name>"`; unique. */
  name: string;
  /** Fully-qualified gRPC service names routed here, e.g. `tools.files.v1.Files`. */
  services: string[];
  /** `host:port` as configured (IPv6 bracketed), validated. */
  address: string;
  /** The SPIFFE ID the upstream must present. */
  spiffeId: SpiffeId;
  /** Absolute paths of existing `.proto` files; empty when payload-aware policy is off. */
  protos: string[];
  /**
   * Read the services' descriptors from the upstream's gRPC server reflection at start,
   * for payload-aware policy without protos; never set together with `protos`.
   */
  reflection: boolean;
}

/**
 * An upstream that is an MCP server (`upstreams[].mcp`), relayed at `/mcp/<name>` on the
 * mTLS listener (docs/mcp.md). Its Cedar resource is `Tool::"<name>"`, as for gRPC.
 */
export interface McpUpstreamConfig {
  name: string;
  /** The server's Streamable HTTP endpoint: https, or http to a loopback host only. */
  url: string;
  /** The SPIFFE ID an https server must present; undefined for loopback http. */
  spiffeId?: SpiffeId;
  /**
   * The catalog file (`mcp.tools`), read and checked: the tool definitions pinned, and the
   * tools and prompts the Cedar schema knows. Undefined: tools are pinned on first sight.
   * Unlike the rest of the upstream, a reload applies it (reloadable-config.ts).
   */
  tools?: McpToolCatalog;
}

/** The config file (docs/config.md), validated, with defaults applied and paths absolute. */
export interface GatewayConfig {
  spiffe: {
    /** Workload API address; undefined means `$SPIFFE_ENDPOINT_SOCKET`, read at run time. */
    endpointSocket?: string;
    /** Caller trust domains accepted; undefined means the gateway's own, from its SVID. */
    trustDomains?: TrustDomain[];
  };
  listen: HostPort;
  /** Undefined when the config sets `admin: false`. */
  admin?: HostPort;
  /** Absolute path of an existing directory. */
  policies: string;
  /**
   * Absolute path of an existing directory of candidate (shadow) policies. Undefined: the
   * policy loader uses `<policies>/shadow` when that folder exists, looked up at every load.
   */
  shadowPolicies?: string;
  /** In config order: the first match wins. */
  identities: IdentityRule[];
  /** The gRPC upstreams. */
  upstreams: UpstreamConfig[];
  /** The MCP upstreams (`upstreams[]` with `mcp`), in config order. */
  mcpUpstreams: McpUpstreamConfig[];
  metadata: {
    /** Lowercase request header names copied into `context.metadata`. */
    allow: string[];
  };
  limits: {
    maxMessageBytes: number;
    /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per caller connection; undefined: Node's default. */
    maxConcurrentStreams?: number;
    /** Open connections per listener, TLS handshakes included; more are closed at once. */
    maxConnections: number;
    /** TLS handshakes started per turn of the event loop; more connections wait, unread, for the next turns. */
    handshakesPerTurn: number;
    /** TLS handshakes started per second at most, per listener; more connections wait, unread. */
    handshakesPerSecond: number;
    /** A connection with no open call and no traffic for this long is sent GOAWAY and closed. */
    connectionIdleSeconds: number;
    /** Per caller SPIFFE ID, counted on this replica (in memory). */
    perCaller: {
      /** Calls one caller may have open at once; past it, RESOURCE_EXHAUSTED. */
      maxConcurrentCalls: number;
      /** mTLS connections one caller may hold at once; more are closed after the handshake. */
      maxConnections: number;
    };
    /** A call with no byte either way for this long is ended (UNAVAILABLE) and cancelled upstream. */
    streamIdleSeconds: number;
    /** Per-agent token bucket on every call; undefined: no rate limit. */
    agentRate?: { perSecond: number; burst: number };
  };
  tasks: {
    /** The longest TTL BeginTask may ask for. */
    maxTtlSeconds: number;
    /** Open (not ended, not expired) tasks one caller (SPIFFE ID) may hold; BeginTask past it answers RESOURCE_EXHAUSTED. */
    maxOpenPerCaller: number;
  };
  credentials: {
    /** Absolute path of an EC P-256 private JWK shared by replicas; undefined: generated at start. */
    signingKeyFile?: string;
    /** How often a generated signing key is replaced. */
    rotateSeconds: number;
    /** Lifetime of the per-call upstream JWT, at most 60 s (and never past the task's end). */
    upstreamTokenTtlSeconds: number;
    /** How long a signed upstream JWT serves further calls with the same claims; 0: one token (and `jti`) per call. Less than the ttl. */
    upstreamTokenReuseSeconds: number;
  };
  /** Calls escalated by `@approval` permits (docs/approvals.md). */
  approvals: {
    /** How long an escalated call is held waiting for its approval (never past the call's deadline); 0: answered at once. */
    holdSeconds: number;
    /** How long an approval request stays valid when its permit names no `@approvalTtl`. */
    defaultTtlSeconds: number;
    /** The cap on any approval request's validity, `@approvalTtl` included. */
    maxTtlSeconds: number;
    /** Pending approval requests one caller (SPIFFE ID) may have at once, across replicas with Redis; one more call is refused RESOURCE_EXHAUSTED. */
    maxPendingPerCaller: number;
    /** The approvers' console in the browser, behind an auth proxy; undefined: none (docs/approvals.md). */
    console?: ApprovalConsoleConfig;
    /** Each new approval request POSTed, signed, to this URL (docs/approvals.md, "Webhook"); undefined: none. */
    webhook?: ApprovalWebhookConfig;
  };
  /** Where tasks, revocations and counters live: this process's memory, or a shared Redis. */
  state: {
    /**
     * The `redis://`, `rediss://` or `unix://` URL (it may hold a password, so it is never
     * logged), or the environment variable that holds it, read at start (`redisUrlOf`).
     */
    redis?: ({ url: string } | { urlEnv: string }) & { keyPrefix: string };
  };
  /** The token listener, for callers that cannot present an X.509-SVID; undefined: none. */
  workloadTokens?: {
    listen: HostPort;
    /** Accept JWT-SVIDs whose audience is the gateway's SPIFFE ID. */
    jwtSvid: boolean;
    oidc: OidcWorkloadIssuerConfig[];
  };
  /** The OIDC issuer of on-behalf-of user tokens (`x-toolgate-on-behalf-of`); undefined: not accepted. */
  onBehalfOf?: OidcIssuerConfig;
  drainTimeoutSeconds: number;
  decisionLog: {
    /** `'stdout'`, or the absolute path of a file to append to. */
    destination: string;
    /** An Ed25519 signed-note signer key that signs checkpoints; undefined: generated at start. */
    checkpointKeyFile?: string;
    checkpointRecords: number;
    checkpointSeconds: number;
  };
  logLevel: LogLevel;
  policyEngine: {
    /** Decide with the compiled fast path when it is sure of Cedar's answer (policy/fast-path.ts). */
    fastPath: boolean;
    /** One fast decision in this many is also decided by cedar-wasm and compared; 0 never. */
    fastPathCheckEvery: number;
  };
  reload: {
    /** Reload on change of the config file or a policy folder; SIGHUP reloads either way. */
    watch: boolean;
    /** Quiet time after the last change before reloading. */
    debounceMs: number;
  };
}

/** `approvals.console`: its own HTTPS listener, reached only by the auth proxy (mTLS), which names the person in a header. */
export interface ApprovalConsoleConfig {
  listen: HostPort;
  proxy: {
    /** The proxy's SPIFFE ID: the only client certificate the console listener accepts. */
    spiffeId: SpiffeId;
    /** The header the proxy names the signed-in person in (lower case, as Node reads headers). */
    userHeader: string;
    /** People approve as `spiffe://<trustDomain>/<user>`, mapped by the identity rules like any caller. */
    trustDomain: TrustDomain;
  };
  /** Argument fields shown as redacted (and never stored): a name at any depth, or a dotted path with `*` segments. */
  redact: string[];
}

/** `approvals.webhook`, resolved: the URL checked, the secret file's absolute path (read by the gateway at start and on reload). */
export interface ApprovalWebhookConfig {
  /** https, or http to a loopback host. */
  url: URL;
  secretFile: string;
  timeoutSeconds: number;
  maxAttempts: number;
  maxQueued: number;
}
