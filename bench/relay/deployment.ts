import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ECHO_SERVICE, PING_PONG_ACTION, UNARY_ACTION } from './echo-service';

export const TRUST_DOMAIN = 'example.org';
export const CLIENT_ID = `spiffe://${TRUST_DOMAIN}/agents/bench/load-1`;
export const UPSTREAM_ID = `spiffe://${TRUST_DOMAIN}/bench/upstream`;
export const FORWARDER_ID = `spiffe://${TRUST_DOMAIN}/bench/forwarder`;
export const GATEWAY_ID = `spiffe://${TRUST_DOMAIN}/toolgate`;
export const MCP_UPSTREAM_ID = `spiffe://${TRUST_DOMAIN}/bench/mcp-upstream`;
/** The MCP upstream's name in the config (its Cedar resource `Tool::"echo-mcp"`), and its one tool, which takes `{ text }`. */
export const MCP_UPSTREAM = 'echo-mcp';
export const MCP_ECHO_TOOL = 'echo';
/** The request header a policy reads (so it is marshalled to Cedar and is part of the decision cache key). */
export const TASK_HEADER = 'x-task-id';
/** The gateway's task-token header (src/server/owned-headers.ts): a toolgate+task call carries its task's token here. */
export const TASK_TOKEN_HEADER = 'x-toolgate-task';
/** The gateway's own Tasks API action that begins a task (on resource `Tool::"toolgate"`). */
export const BEGIN_TASK_ACTION = 'toolgate.v1.Tasks/BeginTask';

/** Other tools and groups that the policy set talks about, as a real deployment's would. */
const TOOLS = [
  ['files', 'tools.files.v1.Files', ['ReadFile', 'ListDir', 'WriteFile', 'Sync']],
  ['search', 'tools.search.v1.Search', ['Query', 'Suggest']],
  ['tickets', 'tools.tickets.v1.Tickets', ['Get', 'List', 'Create', 'Comment']],
  ['billing', 'tools.billing.v1.Billing', ['GetInvoice', 'Refund']],
  ['db', 'tools.db.v1.Sql', ['Query', 'Execute']],
  ['calendar', 'tools.calendar.v1.Calendar', ['List', 'Book']],
] as const;
const GROUPS = ['researchers', 'ci', 'ops', 'support', 'finance', 'data-eng', 'sre'] as const;

/**
 * A 20-policy Cedar set: permits per group, per agent and per action across several tools,
 * forbids that every call is checked against, and the permits the bench's agent actually
 * matches (several, so Cedar finds more than one reason). Policies read principal
 * attributes (tier, team, trustDomain), `context.peer` and `context.metadata["x-task-id"]`,
 * so all of those are marshalled on each decision, as in production.
 */
export function benchPolicies(): Record<string, string> {
  const groupPermits = GROUPS.map((group, i) => {
    const [tool, service, methods] = TOOLS[i % TOOLS.length]!;
    const actions = methods.slice(0, 2).map((m) => `Action::"${service}/${m}"`);
    return `@id("${group}-use-${tool}")
permit (principal in AgentGroup::"${group}", action in [${actions.join(', ')}], resource == Tool::"${tool}");`;
  });
  const agentPermits = TOOLS.map(([tool, service, methods], i) => {
    return `@id("agent-${i}-${tool}-${methods[methods.length - 1]}")
permit (principal == Agent::"agent-${i}", action == Action::"${service}/${methods[methods.length - 1]}", resource == Tool::"${tool}")
when { principal has team && principal.team == "team-${i}" };`;
  });
  const bench = [
    `@id("bench-uses-echo")
permit (principal in AgentGroup::"bench", action in Action::"${ECHO_SERVICE}", resource == Tool::"echo")
when { context.peer.authn == "x509-svid" };`,
    // The MCP workload's tool calls: decided per call on the same principal (cached after the first).
    `@id("bench-calls-echo-mcp")
permit (principal in AgentGroup::"bench", action in Action::"mcp:${MCP_UPSTREAM}/tools/call", resource == Tool::"${MCP_UPSTREAM}")
when { context.peer.authn == "x509-svid" };`,
    `@id("platform-team-echo-unary")
permit (principal is Agent, action == Action::"${UNARY_ACTION}", resource == Tool::"echo")
when { principal has team && principal.team == "platform" };`,
    `@id("tasks-may-stream")
permit (principal in AgentGroup::"researchers", action == Action::"${PING_PONG_ACTION}", resource == Tool::"echo")
when { context.metadata has "${TASK_HEADER}" && context.metadata["${TASK_HEADER}"] like "task-*" };`,
    // The toolgate+task topologies begin one task at setup; no policy reads context.task, so
    // task calls keep hitting the decision cache and differ from toolgate only by the task checks.
    `@id("bench-begins-echo-tasks")
permit (principal in AgentGroup::"bench", action == Action::"${BEGIN_TASK_ACTION}", resource == Tool::"toolgate")
when { context.request.tools.containsAll(["${ECHO_SERVICE}"]) };`,
  ];
  const forbids = [
    `@id("workloads-never-write")
forbid (principal is Workload, action in [Action::"tools.files.v1.Files/WriteFile", Action::"tools.db.v1.Sql/Execute"], resource);`,
    `@id("sandbox-read-only")
forbid (principal is Agent, action in [Action::"tools.files.v1.Files/WriteFile", Action::"tools.billing.v1.Billing/Refund", Action::"tools.db.v1.Sql/Execute"], resource)
when { principal has tier && principal.tier == "sandbox" };`,
    `@id("own-trust-domain-only")
forbid (principal, action, resource)
when { principal has trustDomain && principal.trustDomain != "${TRUST_DOMAIN}" };`,
    `@id("no-anonymous-tasks")
forbid (principal, action, resource)
when { context.metadata has "${TASK_HEADER}" && context.metadata["${TASK_HEADER}"] == "" };`,
  ];
  return {
    'agents.cedar': [...agentPermits].join('\n\n'),
    'bench.cedar': bench.join('\n\n'),
    'groups.cedar': groupPermits.join('\n\n'),
    'guardrails.cedar': forbids.join('\n\n'),
  };
}

export function policyCount(policies: Record<string, string>): number {
  return Object.values(policies).reduce((n, text) => n + (text.match(/^@id\(/gm)?.length ?? 0), 0);
}

/** The config file, contract §3; the Workload API endpoint comes from $SPIFFE_ENDPOINT_SOCKET. */
export function gatewayConfigYaml(upstreamAddress: string, redisUrl?: string, mcpUrl?: string): string {
  const agents = Array.from(
    { length: 8 },
    (_, i) => `  - spiffeId: spiffe://${TRUST_DOMAIN}/agents/agent-${i}
    agent: agent-${i}
    groups: [${GROUPS[i % GROUPS.length]}]
    attributes: { team: team-${i}, tier: ${i % 3 === 0 ? 'sandbox' : 'standard'} }`,
  );
  return `spiffe:
  trustDomains: [${TRUST_DOMAIN}]
listen: 127.0.0.1:0
admin: 127.0.0.1:0
policies: ./policies
identities:
${agents.join('\n')}
  - spiffeIdPrefix: spiffe://${TRUST_DOMAIN}/agents/ci/
    groups: [ci]
  - spiffeIdPrefix: spiffe://${TRUST_DOMAIN}/agents/bench/
    groups: [bench, researchers]
    attributes: { team: platform, tier: standard }
upstreams:
  - name: echo
    services: [${ECHO_SERVICE}]
    address: ${upstreamAddress}
    spiffeId: ${UPSTREAM_ID}
${
  mcpUrl === undefined
    ? ''
    : `  - name: ${MCP_UPSTREAM}
    mcp: { url: '${mcpUrl}' }
    spiffeId: ${MCP_UPSTREAM_ID}
`
}metadata:
  allow: [${TASK_HEADER}]
decisionLog:
  destination: ./${redisUrl === undefined ? 'decisions.log' : 'decisions-redis.log'}
logLevel: warn
${redisUrl === undefined ? '' : `state:\n  redis:\n    url: ${redisUrl}\n    keyPrefix: 'bench:'\n`}`;
}

/**
 * Writes policies/ and toolgate.yaml (or, with `redisUrl`, toolgate-redis.yaml: the same
 * gateway with its task store in Redis, and its own decision log) into `dir`; returns the
 * config file's path. With `mcpUrl`, the gateway also relays the MCP upstream there (https, `MCP_UPSTREAM_ID`).
 */
export function writeGatewayDeployment(dir: string, upstreamAddress: string, redisUrl?: string, mcpUrl?: string): { configFile: string; decisionLog: string; policies: number } {
  const policyDir = join(dir, 'policies');
  mkdirSync(policyDir, { recursive: true });
  const policies = benchPolicies();
  for (const [name, text] of Object.entries(policies)) writeFileSync(join(policyDir, name), `${text}\n`);
  const configFile = join(dir, redisUrl === undefined ? 'toolgate.yaml' : 'toolgate-redis.yaml');
  writeFileSync(configFile, gatewayConfigYaml(upstreamAddress, redisUrl, mcpUrl));
  return { configFile, decisionLog: join(dir, redisUrl === undefined ? 'decisions.log' : 'decisions-redis.log'), policies: policyCount(policies) };
}
