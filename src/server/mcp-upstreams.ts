import type { GatewayConfig } from '../config/gateway-config';
import type { CallerSlots } from '../limits/caller-slots';
import { McpRelay, ToolPins } from '../mcp';
import type { DecisionLog } from '../observability/decision-log';
import type { Logger } from '../observability/logger';
import type { GatewayMetrics } from '../observability/metrics';
import type { X509TlsSource } from '../spiffe/tls/secure-context-cache';
import type { GatewayState } from './call-context';
import { McpDecisions } from './mcp-decisions';
import { McpRoutes } from './mcp-routes';
import { McpUpstreamAgent } from './mcp-upstream-agent';

export interface McpUpstreamParts {
  readonly source: X509TlsSource;
  readonly state: () => GatewayState;
  readonly decisionLog: DecisionLog;
  readonly metrics: GatewayMetrics;
  readonly nextDecisionId: () => string;
  readonly callerSlots: CallerSlots;
  readonly logger: Logger;
}

/** What serving the MCP upstreams holds: the routes for the listener, and the upstream agents to cut. */
export interface McpUpstreams {
  readonly routes: McpRoutes;
  /** Closes every upstream connection (at release, and when the gateway's SVID expires). */
  closeConnections(): void;
}

/**
 * One relay per MCP upstream (`upstreams[].mcp`), deciding through the live policy engine,
 * with its own tool pins; https upstreams reached over mTLS with their SPIFFE ID checked,
 * loopback http ones directly (the config allows nothing else).
 */
export function openMcpUpstreams(config: GatewayConfig, parts: McpUpstreamParts): McpUpstreams {
  const decisions = new McpDecisions({ log: parts.decisionLog, metrics: parts.metrics, state: parts.state, nextDecisionId: parts.nextDecisionId });
  const { decide, couldPermit } = decisions.decider();
  const agents: McpUpstreamAgent[] = [];
  const relays = new Map<string, McpRelay>();
  for (const upstream of config.mcpUpstreams) {
    const agent = upstream.spiffeId === undefined ? undefined : new McpUpstreamAgent(parts.source, upstream.spiffeId);
    if (agent) agents.push(agent);
    // Told once per new definition, so the count is of changes seen, not of calls refused.
    // The digests name the definitions for whoever re-pins; the definitions themselves (text a
    // server may have aimed at a model) are not logged.
    const pins = new ToolPins({}, (change) => {
      parts.metrics.mcpToolChanged.labels(upstream.name, change.tool).inc();
      parts.logger.warn(
        { upstream: upstream.name, tool: change.tool, pinned: change.pinned, seen: change.seen },
        'MCP tool definition changed since it was pinned: refused until pinned again',
      );
    });
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
        onEvent: (event) => {
          decisions.relayEvent(event);
          if (event.kind === 'upstream-error') parts.metrics.upstreamErrors.labels(event.upstream).inc();
          // The reason and status only: never a body or a token.
          parts.logger.info({ upstream: event.upstream, caller: event.caller, kind: event.kind, status: event.status, reason: event.reason }, 'MCP request not relayed');
        },
      }),
    );
  }
  const routes = new McpRoutes({ relays, decisions, state: parts.state, callerSlots: parts.callerSlots, logger: parts.logger });
  return { routes, closeConnections: () => agents.forEach((a) => a.destroy()) };
}
