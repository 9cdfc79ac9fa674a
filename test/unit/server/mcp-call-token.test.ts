import type { UpstreamTokenFacts } from '../../../src/server/call-pipeline';
import { mcpCallTokenHeaders } from '../../../src/server/mcp-call-token';
import type { McpGatewayCaller } from '../../../src/server/mcp-decisions';
import { McpRequestScope } from '../../../src/server/mcp-request-scope';

const CALLER = 'spiffe://example.org/agents/research-bot';
const NOTES = 'spiffe://example.org/tools/notes';

function callerWith(scope: McpRequestScope | undefined): McpGatewayCaller {
  return {
    key: CALLER,
    principal: { type: 'Agent', id: 'research-bot' } as McpGatewayCaller['principal'],
    peer: { spiffeId: CALLER, trustDomain: 'example.org', authn: 'x509-svid' },
    ...(scope && { scope }),
  };
}

describe('mcpCallTokenHeaders: the per-call JWT of a relayed MCP request', () => {
  const minted: UpstreamTokenFacts[] = [];
  const headers = mcpCallTokenHeaders((facts) => {
    minted.push(facts);
    return `token-${minted.length}`;
  }, NOTES);

  it('names the caller, the agent and the upstream, with the allowed actions as a space-separated scope', () => {
    const scope = new McpRequestScope({}, () => {});
    const allowed = [
      { allow: true, decisionId: 'd-1', action: 'mcp:notes/tools/call/read_note' },
      { allow: true, decisionId: 'd-2', action: 'mcp:notes/tools/call/delete_all' },
    ];
    expect(headers(callerWith(scope), allowed)).toEqual({ authorization: 'Bearer token-1' });
    expect(minted.at(-1)).toEqual({ caller: CALLER, agent: 'research-bot', audience: NOTES, action: 'mcp:notes/tools/call/read_note mcp:notes/tools/call/delete_all' });
  });

  it('gives an empty scope to a request no policy decided (initialize, notifications, GET, DELETE)', () => {
    headers(callerWith(new McpRequestScope({}, () => {})), []);
    expect(minted.at(-1)).toMatchObject({ action: '' });
    headers(callerWith(undefined), []);
    expect(minted.at(-1)).toMatchObject({ action: '' });
  });

  it('carries the task the request ran under, for task_id and an exp no later than its end', () => {
    const scope = new McpRequestScope({}, () => {});
    const expiresAt = new Date(Date.now() + 30_000);
    scope.task = { id: 'task-1', expiresAt, context: {} as never, release: () => {} };
    headers(callerWith(scope), [{ allow: true, decisionId: 'd-1', action: 'mcp:notes/tools/call/read_note' }]);
    expect(minted.at(-1)).toMatchObject({ task: { id: 'task-1', expiresAt } });
  });
});

describe('McpRequestScope', () => {
  it('runs each cleanup once when the request ends, and at once one added after', () => {
    const scope = new McpRequestScope({}, () => {});
    const ran: string[] = [];
    scope.onEnd(() => ran.push('slot'));
    scope.end();
    scope.end();
    scope.onEnd(() => ran.push('late'));
    expect(ran).toEqual(['slot', 'late']);
  });
});
