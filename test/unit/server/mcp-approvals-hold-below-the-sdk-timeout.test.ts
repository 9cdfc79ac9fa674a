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
    request: { path: '/payroll/q3' },
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

describe('McpApprovals: what approvers are shown', () => {
  it('keeps the tool call’s arguments, redacted, and its task intent on the request when the console is configured; nothing of them without it', async () => {
    const call = { ...toolCall([]), holdable: false, request: { path: '/payroll/q3', token: 'hunter2' }, intent: 'close the quarter' };
    const shown = new MemoryApprovalStore();
    await new McpApprovals({ store: shown, holdMs: 0, defaultTtlMs: 600_000, maxTtlMs: 3_600_000, show: { redact: ['token'] } }).settle(call);
    const [kept] = await shown.list(new Date());
    expect(kept).toMatchObject({ arguments: '{"path":"/payroll/q3","token":null}', intent: 'close the quarter' });

    const hidden = new MemoryApprovalStore();
    await new McpApprovals({ store: hidden, holdMs: 0, defaultTtlMs: 600_000, maxTtlMs: 3_600_000 }).settle(call);
    const [plain] = await hidden.list(new Date());
    expect(plain).toBeDefined();
    expect(plain!.arguments).toBeUndefined();
    expect(plain!.intent).toBeUndefined();
  });
});
