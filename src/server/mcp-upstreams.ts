import type { GatewayConfig, McpUpstreamConfig } from '../config/gateway-config';
import type { McpToolCatalog } from '../config/tool-catalog';
import type { CallerSlots } from '../limits/caller-slots';
import { McpRelay, toolDigest, ToolPins, type ToolChange } from '../mcp';
import type { DecisionLog } from '../observability/decision-log';
import type { Logger } from '../observability/logger';
import type { GatewayMetrics } from '../observability/metrics';
import type { X509TlsSource } from '../spiffe/tls/secure-context-cache';
import type { GatewayState } from './call-context';
import type { CallGuard } from './call-guard';
import type { UpstreamTokenFacts } from './call-pipeline';
import { mcpCallTokenHeaders } from './mcp-call-token';
import type { McpApprovalsOptions } from './mcp-approvals';
import { McpDecisions } from './mcp-decisions';
import { McpRoutes } from './mcp-routes';
import { McpUpstreamAgent } from './mcp-upstream-agent';
import type { OpenTaskCalls } from './open-task-calls';

export interface McpUpstreamParts {
  readonly source: X509TlsSource;
  readonly state: () => GatewayState;
  readonly decisionLog: DecisionLog;
  readonly metrics: GatewayMetrics;
  readonly nextDecisionId: () => string;
  readonly callerSlots: CallerSlots;
  readonly logger: Logger;
  /** Task tokens, budgets, the agent rate limit, on-behalf-of tokens: the gRPC pipeline's guard. */
  readonly guard?: CallGuard;
  readonly openTasks?: OpenTaskCalls;
  /** Mints the per-call JWT (the gRPC pipeline's); without it, no token is sent. */
  readonly upstreamToken?: (facts: UpstreamTokenFacts) => string;
  /** Why no call is served now (the gateway's SVID expired): every MCP request is refused with 503 meanwhile. */
  readonly unavailable?: () => string | undefined;
  /** The approval store and hold of escalated tool calls, the gRPC calls' own; without it an escalated tool call is denied. */
  readonly approvals?: McpApprovalsOptions;
}

/** What serving the MCP upstreams holds: the routes for the listener, and the upstream agents to cut. */
export interface McpUpstreams {
  readonly routes: McpRoutes;
  /** Closes every upstream connection (at release, and when the gateway's SVID expires). */
  closeConnections(): void;
  /** Puts each upstream's catalog (`mcp.tools`) in force as its tool pins: a reload re-pins. */
  useCatalogs(upstreams: readonly McpUpstreamConfig[]): void;
}

/**
 * One relay per MCP upstream (`upstreams[].mcp`), deciding through the live policy engine,
 * with its own tool pins (from its catalog file, else on first sight); https upstreams reached over mTLS with their SPIFFE ID checked,
 * loopback http ones directly (the config allows nothing else).
 */
export function openMcpUpstreams(config: GatewayConfig, parts: McpUpstreamParts): McpUpstreams {
  const decisions = new McpDecisions({
    log: parts.decisionLog,
    metrics: parts.metrics,
    state: parts.state,
    nextDecisionId: parts.nextDecisionId,
    ...(parts.guard && { guard: parts.guard }),
    ...(parts.openTasks && { openTasks: parts.openTasks }),
    ...(parts.approvals && { approvals: parts.approvals }),
  });
  const { decide, couldPermit } = decisions.decider();
  const agents: McpUpstreamAgent[] = [];
  const relays = new Map<string, McpRelay>();
  const pinsByUpstream = new Map<string, ToolPins>();
  for (const upstream of config.mcpUpstreams) {
    // mTLS for https only: a loopback http upstream may name a spiffeId too, as its tokens' audience.
    const agent = upstream.spiffeId === undefined || !upstream.url.startsWith('https:') ? undefined : new McpUpstreamAgent(parts.source, upstream.spiffeId);
    // The JWT's audience is the upstream's SPIFFE ID: an upstream without one gets no token (nothing to bind it to).
    const upstreamHeaders =
      upstream.spiffeId === undefined || parts.upstreamToken === undefined ? undefined : mcpCallTokenHeaders(parts.upstreamToken, upstream.spiffeId.toString());
    if (agent) agents.push(agent);
    const pins = upstreamPins(upstream, parts);
    pinsByUpstream.set(upstream.name, pins);
    relays.set(
      upstream.name,
      new McpRelay({
        upstream: upstream.name,
        url: upstream.url,
        decide,
        couldPermit,
        pins,
        maxBodyBytes: config.limits.maxMessageBytes,
        ...(agent && { agent }),
        ...(upstreamHeaders && { upstreamHeaders }),
        onEvent: (event) => {
          decisions.relayEvent(event);
          if (event.kind === 'upstream-error') parts.metrics.upstreamErrors.labels(event.upstream).inc();
          // The reason and status only: never a body or a token.
          parts.logger.info({ upstream: event.upstream, caller: event.caller, kind: event.kind, status: event.status, reason: event.reason }, 'MCP request not relayed');
        },
      }),
    );
  }
  const routes = new McpRoutes({
    relays,
    decisions,
    state: parts.state,
    callerSlots: parts.callerSlots,
    logger: parts.logger,
    ...(parts.unavailable && { unavailable: parts.unavailable }),
  });
  return {
    routes,
    closeConnections: () => agents.forEach((a) => a.destroy()),
    useCatalogs: (upstreams) => {
      for (const upstream of upstreams) pinsByUpstream.get(upstream.name)?.useCatalog(upstream.tools && catalogPins(upstream.tools));
    },
  };
}

/**
 * The upstream's tool pins: from its catalog when it has one (any other tool refused), else
 * pinned on first sight. Each refusal is told once per new definition, so the counts are of
 * definitions seen, not of calls refused. The digests name the definitions for whoever
 * re-pins; the definitions themselves (text a server may have aimed at a model) are not logged.
 */
function upstreamPins(upstream: McpUpstreamConfig, parts: McpUpstreamParts): ToolPins {
  const onChange = (change: ToolChange): void => {
    parts.metrics.mcpToolChanged.labels(upstream.name, change.tool).inc();
    parts.logger.warn(
      { upstream: upstream.name, tool: change.tool, pinned: change.pinned, seen: change.seen },
      'MCP tool definition changed since it was pinned: refused until pinned again',
    );
  };
  if (upstream.tools === undefined) return new ToolPins({}, onChange);
  return ToolPins.fromCatalog(catalogPins(upstream.tools), {
    onChange,
    onUnlisted: (unlisted) => {
      parts.metrics.mcpToolNotInCatalog.labels(upstream.name, unlisted.tool).inc();
      parts.logger.warn(
        { upstream: upstream.name, tool: unlisted.tool, seen: unlisted.seen, catalog: upstream.tools?.file },
        'MCP tool not in the pinned catalog: refused until the catalog holds it',
      );
    },
  });
}

/** Tool name → the digest of its definition in the catalog. */
function catalogPins(catalog: McpToolCatalog): Record<string, string> {
  return Object.fromEntries(catalog.tools.map((tool) => [tool.name, toolDigest(tool)]));
}
