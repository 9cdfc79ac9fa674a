import type { DecisionLog } from '../../../src/observability/decision-log';
import type { GatewayMetrics } from '../../../src/observability/metrics';
import { PolicySet, type Principal } from '../../../src/policy';
import type { Caller, GatewayState } from '../../../src/server/call-context';
import type { CallGuard } from '../../../src/server/call-guard';
import { McpDecisions, type McpGatewayCaller } from '../../../src/server/mcp-decisions';
import { McpRequestScope } from '../../../src/server/mcp-request-scope';

const BOT = 'spiffe://example.org/agents/research-bot';
const principal: Principal = Object.freeze({ type: 'Agent', id: 'research-bot', attrs: {}, groups: ['researchers'] });
const peer: Caller['peer'] = { spiffeId: BOT, trustDomain: 'example.org', authn: 'x509-svid' };

const set = PolicySet.fromText({
  'p.cedar': `
    permit (principal, action == Action::"mcp:notes/tools/call/dear", resource == Tool::"notes")
    when { context has rate && context.rate.remaining > 5 };
    permit (principal, action == Action::"mcp:notes/prompts/get/dear", resource == Tool::"notes")
    when { context has rate && context.rate.remaining > 5 };
  `,
});

function couldPermitWith(guard: Partial<CallGuard> | undefined) {
  const counter = { inc: () => {}, labels: () => counter, observe: () => {} };
  const state = { policyHash: 'p', engine: { set }, identities: { resolve: () => principal } } as unknown as GatewayState;
  const decisions = new McpDecisions({
    log: { write: () => {} } as unknown as DecisionLog,
    metrics: new Proxy({}, { get: () => counter }) as unknown as GatewayMetrics,
    state: () => state,
    nextDecisionId: () => 'd',
    ...(guard && { guard: guard as CallGuard }),
  });
  const caller: McpGatewayCaller = { key: BOT, principal, peer, scope: new McpRequestScope({}, () => {}, state) };
  const { couldPermit } = decisions.decider();
  return (action: string) => couldPermit(caller, action, 'notes', undefined);
}

describe('discovery asks with the context a request would have: context.rate', () => {
  it('with limits.agentRate, a tool call has context.rate, unknown before the call: a policy on it shows the tool', () => {
    const could = couldPermitWith({ limitsRate: true });
    expect(could('mcp:notes/tools/call/dear')).toBe(true);
    // Prompts are not rate-limited: their requests have no context.rate.
    expect(could('mcp:notes/prompts/get/dear')).toBe(false);
  });

  it('without limits.agentRate, no call has context.rate: the tool is hidden', () => {
    expect(couldPermitWith({ limitsRate: false })('mcp:notes/tools/call/dear')).toBe(false);
    expect(couldPermitWith(undefined)('mcp:notes/tools/call/dear')).toBe(false);
  });
});
