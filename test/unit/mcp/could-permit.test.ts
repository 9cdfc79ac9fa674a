import { couldPermit } from '../../../src/mcp/could-permit';
import { PolicySet, type Principal } from '../../../src/policy';

const researcher: Principal = Object.freeze({ type: 'Agent', id: 'r', attrs: { team: 'research' }, groups: ['researchers'] });
const stranger: Principal = Object.freeze({ type: 'Agent', id: 's', attrs: { team: 'other' }, groups: [] });

const set = PolicySet.fromText({
  'p.cedar': `
    permit (principal in AgentGroup::"researchers", action == Action::"mcp:f/tools/call/read", resource == Tool::"f")
    when { context.request.path like "/public/*" };
    permit (principal, action in Action::"mcp:f/tools/call", resource == Tool::"f") when { principal.team == "ops" };
    forbid (principal, action == Action::"mcp:f/tools/call/delete", resource);
    permit (principal in AgentGroup::"researchers", action == Action::"mcp:f/tools/call/delete", resource == Tool::"f");
    permit (principal in AgentGroup::"researchers", action == Action::"mcp:f/resources/read", resource == Tool::"f")
    when { !(context.request.uri like "file:///secrets/*") };
    permit (principal in AgentGroup::"researchers", action == Action::"mcp:f/tools/call/broken", resource == Tool::"f")
    when { principal.missing == 1 };
  `,
});
const could = (principal: Principal, action: string, request?: Record<string, string>) =>
  couldPermit(set, { principal, action, resource: 'f', context: {}, ...(request === undefined ? {} : { request }) }).possible;

describe('couldPermit: Cedar partial evaluation with context.request unknown', () => {
  it('is true when a permit depends on the arguments, false when no permit can apply', () => {
    expect(could(researcher, 'mcp:f/tools/call/read')).toBe(true);
    expect(could(stranger, 'mcp:f/tools/call/read')).toBe(false);
    expect(could(researcher, 'mcp:f/tools/call/write')).toBe(false);
  });

  it('is false when an unconditional forbid applies, whatever permits', () => {
    expect(could(researcher, 'mcp:f/tools/call/delete')).toBe(false);
  });

  it('decides exactly when the request is known', () => {
    expect(could(researcher, 'mcp:f/resources/read', { uri: 'file:///public/a' })).toBe(true);
    expect(could(researcher, 'mcp:f/resources/read', { uri: 'file:///secrets/a' })).toBe(false);
  });

  it('fails closed when a policy errors on what is known', () => {
    expect(couldPermit(set, { principal: researcher, action: 'mcp:f/tools/call/broken', resource: 'f', context: {} })).toMatchObject({
      possible: false,
      error: expect.stringContaining('errored'),
    });
  });
});

describe('couldPermit with context members the call would have but whose value is unknown (context.rate)', () => {
  const rated = PolicySet.fromText({
    'p.cedar': `
      permit (principal, action == Action::"mcp:f/tools/call/cheap", resource == Tool::"f");
      permit (principal, action == Action::"mcp:f/tools/call/dear", resource == Tool::"f")
      when { context has rate && context.rate.remaining > 5 };
    `,
  });
  const ask = (action: string, unknownContext?: string[]) =>
    couldPermit(rated, { principal: researcher, action, resource: 'f', context: {}, ...(unknownContext && { unknownContext }) }).possible;

  it('is true for a permit on the unknown member, which its absence would hide', () => {
    expect(ask('mcp:f/tools/call/dear', ['rate'])).toBe(true);
    expect(ask('mcp:f/tools/call/dear')).toBe(false);
    expect(ask('mcp:f/tools/call/cheap', ['rate'])).toBe(true);
  });
});
