import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ECHO_SERVICE, PING_PONG_ACTION, UNARY_ACTION } from './echo-service';
import { TOOL_CALL_ACTION, TOOL_PROTO, TOOL_SERVICE } from './tool-service';

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
/** The payload-aware upstream's name in the config (its Cedar resource `Tool::"tool"`): `bench.v1.Tool`, with protos. */
export const TOOL_UPSTREAM = 'tool';
/** Where the deployment writes the Tool service's protos, relative to its directory. */
const TOOL_PROTO_FILE = 'protos/bench-tool.proto';
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
 * A 24-policy Cedar set: permits per group, per agent and per action across several tools,
 * forbids that every call is checked against, and the permits the bench's agent actually
 * matches (several, so Cedar finds more than one reason). Policies read principal
 * attributes (tier, team, trustDomain), `context.peer`, `context.metadata["x-task-id"]` and,
 * on the payload-aware tool, the call's arguments (`context.request.path` and `.size`), so
 * all of those are marshalled on each decision, as in production.
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
    // Every method of the echo service (unary, bidi and server streaming): the action's parent is its service.
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
    // toolgate-args: the payload-aware tool's one method, decided on its arguments (every call
    // has its own path and size, so every decision misses the cache).
    `@id("bench-calls-tool-on-data")
permit (principal in AgentGroup::"bench", action == Action::"${TOOL_CALL_ACTION}", resource == Tool::"${TOOL_UPSTREAM}")
when { context.request.size <= 1000000 && context.request.path like "/data/*" };`,
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
    // Checked against every call; `context has request` first, so that a header-only call (no
    // context.request) skips it instead of erring (an error would send it to cedar-wasm).
    `@id("no-secret-paths")
forbid (principal, action, resource)
when { context has request && context.request has path && context.request.path like "*secret*" };`,
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

/** What differs between the bench's toolgate processes; everything else (policies, identities, upstreams) is the same. */
export interface GatewayVariant {
  /** Names the config file (toolgate-<name>.yaml) and the decision log (decisions-<name>.log); the main gateway has none. */
  name?: string;
  /** The task store in this redis-server (else memory). */
  redisUrl?: string;
  /** Also relay the MCP upstream at this URL (https, `MCP_UPSTREAM_ID`). */
  mcpUrl?: string;
  /**
   * `policyEngine.fastPath`, written only when set: the main gateway leaves it out, so that it
   * follows the default (docs/policies.md "Fast path"), as a production config that does not
   * mention it would; the cedar-wasm variant sets `false`.
   */
  fastPath?: boolean;
}

/** The config file, contract §3; the Workload API endpoint comes from $SPIFFE_ENDPOINT_SOCKET. */
export function gatewayConfigYaml(upstreamAddress: string, variant: GatewayVariant = {}): string {
  const { redisUrl, mcpUrl, fastPath } = variant;
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
  - name: ${TOOL_UPSTREAM}
    services: [${TOOL_SERVICE}]
    address: ${upstreamAddress}
    spiffeId: ${UPSTREAM_ID}
    protos: [./${TOOL_PROTO_FILE}]
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
  destination: ./${decisionLogName(variant)}
logLevel: warn
${fastPath === undefined ? '' : `policyEngine:\n  fastPath: ${fastPath}\n`}${redisUrl === undefined ? '' : `state:\n  redis:\n    url: ${redisUrl}\n    keyPrefix: 'bench:'\n`}`;
}

function decisionLogName(variant: GatewayVariant): string {
  return variant.name === undefined ? 'decisions.log' : `decisions-${variant.name}.log`;
}

/**
 * Writes policies/ and the Tool service's protos (shared by every variant) and the variant's config file into `dir`;
 * returns the config file's path, its decision log's, and the number of policies.
 */
export function writeGatewayDeployment(dir: string, upstreamAddress: string, variant: GatewayVariant = {}): { configFile: string; decisionLog: string; policies: number } {
  const policyDir = join(dir, 'policies');
  mkdirSync(policyDir, { recursive: true });
  const policies = benchPolicies();
  for (const [name, text] of Object.entries(policies)) writeFileSync(join(policyDir, name), `${text}\n`);
  mkdirSync(join(dir, 'protos'), { recursive: true });
  writeFileSync(join(dir, TOOL_PROTO_FILE), TOOL_PROTO);
  const configFile = join(dir, variant.name === undefined ? 'toolgate.yaml' : `toolgate-${variant.name}.yaml`);
  writeFileSync(configFile, gatewayConfigYaml(upstreamAddress, variant));
  return { configFile, decisionLog: join(dir, decisionLogName(variant)), policies: policyCount(policies) };
}
