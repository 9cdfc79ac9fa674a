import { MemoryApprovalStore } from '../../../src/approvals/memory-approval-store';
import type { Decision } from '../../../src/policy/authorization';
import { MCP_MAX_HOLD_MS, McpApprovals, type EscalatedToolCall, type McpApprovalRecord } from '../../../src/server/mcp-approvals';

const escalate = { group: 'payroll-owners', quorum: 1, policies: ['p'] };
const decision: Decision = { allow: false, escalate, policies: ['p'], errors: [], evaluationMicros: 1, cached: false };

function toolCall(records: McpApprovalRecord[]): EscalatedToolCall {
  return {
    decisionId: 'd1',
    caller: 'spiffe://example.org/agents/a',
    principal: 'Agent::"a"',
    action: 'mcp:notes/tools/call/read_note',
    upstream: 'notes',
    message: Buffer.from('{}'),
    escalate,
    decision,
    headers: {},
    holdable: true,
    onGone: () => undefined,
    reevaluate: () => ({ decision, policySet: 's' }),
    record: (fields) => records.push(fields),
    count: () => undefined,
  };
}

describe('McpApprovals: how long a tool call is held', () => {
  afterEach(() => jest.useRealTimers());

  it('holds at most MCP_MAX_HOLD_MS (below the SDK client’s 60 s default timeout), whatever approvals.holdSeconds says', async () => {
    jest.useFakeTimers();
    const approvals = new McpApprovals({ store: new MemoryApprovalStore(), holdMs: 120_000, defaultTtlMs: 600_000, maxTtlMs: 3_600_000, pollMs: 60_000 });
    const records: McpApprovalRecord[] = [];
    let settled: Awaited<ReturnType<McpApprovals['settle']>> | undefined;
    void approvals.settle(toolCall(records)).then((d) => (settled = d));
    await jest.advanceTimersByTimeAsync(MCP_MAX_HOLD_MS - 1);
    expect(settled).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(MCP_MAX_HOLD_MS).toBeLessThan(60_000);
    expect(settled).toMatchObject({ allow: false, decisionId: 'd1', error: { code: -32004, data: { reason: 'APPROVAL_REQUIRED', decisionId: 'd1' } } });
    expect(records.map((r) => r.decision)).toEqual(['escalate', 'deny']);
  });
});
