import { IdentityError, IdentityMapper, type IdentityRule } from '../../../src/identity';
import { SpiffeId, TrustDomain } from '../../../src/spiffe/id';

const id = (s: string) => SpiffeId.parse(s);
const EXAMPLE = TrustDomain.parse('example.org');
const PARTNER = TrustDomain.parse('partner.org');

const RULES: IdentityRule[] = [
  {
    spiffeId: id('spiffe://example.org/agents/research-bot'),
    agent: 'research-bot',
    groups: ['researchers', 'staff'],
    attributes: { team: 'research', tier: 'standard', level: 2, admin: false },
  },
  { spiffeIdPrefix: 'spiffe://example.org/agents/ci/', groups: ['ci'], attributes: {} },
  { spiffeIdPrefix: 'spiffe://example.org/agents/', agent: 'generic-agent', groups: [], attributes: { tier: 'low' } },
  { spiffeIdPrefix: 'spiffe://partner.org/', groups: ['partners'], attributes: {} },
];

const mapper = () => new IdentityMapper(RULES, { trustDomains: [EXAMPLE, PARTNER] });

describe('IdentityMapper', () => {
  it('maps an exact SPIFFE ID to its agent, groups as parents, attributes top-level and as a record', () => {
    expect(mapper().resolve(id('spiffe://example.org/agents/research-bot'))).toEqual({
      type: 'Agent',
      id: 'research-bot',
      attrs: {
        team: 'research',
        tier: 'standard',
        level: 2,
        admin: false,
        attributes: { team: 'research', tier: 'standard', level: 2, admin: false },
        spiffeId: 'spiffe://example.org/agents/research-bot',
        trustDomain: 'example.org',
      },
      groups: ['researchers', 'staff'],
    });
  });

  it('names the agent of a prefix rule by the rest of the path', () => {
    expect(mapper().resolve(id('spiffe://example.org/agents/ci/build-7'))).toEqual({
      type: 'Agent',
      id: 'build-7',
      attrs: { attributes: {}, spiffeId: 'spiffe://example.org/agents/ci/build-7', trustDomain: 'example.org' },
      groups: ['ci'],
    });
    expect(mapper().resolve(id('spiffe://partner.org/agents/a/b')).id).toBe('agents/a/b');
  });

  it("uses the first matching rule, and a prefix rule's own agent name when it has one", () => {
    const m = mapper();
    // The ci/ rule comes before the broader agents/ rule.
    expect(m.resolve(id('spiffe://example.org/agents/ci/x')).id).toBe('x');
    // Whole segments only: agents/cia is not under agents/ci/.
    expect(m.resolve(id('spiffe://example.org/agents/cia'))).toMatchObject({ id: 'generic-agent', attrs: { tier: 'low' } });
    expect(m.resolve(id('spiffe://example.org/agents/research-bot')).id).toBe('research-bot');
  });

  it('makes a trusted but unmapped ID a Workload', () => {
    expect(mapper().resolve(id('spiffe://example.org/tools/files'))).toEqual({
      type: 'Workload',
      id: 'spiffe://example.org/tools/files',
      attrs: { spiffeId: 'spiffe://example.org/tools/files', trustDomain: 'example.org', path: '/tools/files' },
      groups: [],
    });
  });

  it('refuses an ID from a trust domain that is not accepted, even when a rule would match', () => {
    const m = new IdentityMapper(RULES, { trustDomains: [EXAMPLE] });
    let caught: unknown;
    try {
      m.resolve(id('spiffe://partner.org/agents/a'));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(IdentityError);
    expect(caught).toMatchObject({
      code: 'ERR_IDENTITY',
      message: 'SPIFFE ID "spiffe://partner.org/agents/a" is from trust domain "partner.org", which is not accepted (accepted: example.org)',
    });
  });

  it('returns the same frozen object for the same SPIFFE ID', () => {
    const m = mapper();
    const first = m.resolve(id('spiffe://example.org/agents/research-bot'));
    expect(m.resolve(id('spiffe://example.org/agents/research-bot'))).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first.attrs) && Object.isFrozen(first.groups)).toBe(true);
    expect(Object.isFrozen(first.attrs.attributes)).toBe(true);
    expect(Object.isFrozen(RULES[0]!.attributes)).toBe(false);
    const workload = m.resolve(id('spiffe://example.org/tools/files'));
    expect(m.resolve(id('spiffe://example.org/tools/files'))).toBe(workload);
  });

  it('bounds the cache, dropping the oldest entry', () => {
    const m = new IdentityMapper(RULES, { trustDomains: [EXAMPLE], cacheSize: 2 });
    const a = m.resolve(id('spiffe://example.org/w/a'));
    const b = m.resolve(id('spiffe://example.org/w/b'));
    m.resolve(id('spiffe://example.org/w/c'));
    expect(m.resolve(id('spiffe://example.org/w/b'))).toBe(b);
    const again = m.resolve(id('spiffe://example.org/w/a'));
    expect(again).not.toBe(a);
    expect(again).toEqual(a);
  });

  it('refuses rules built in code without exactly one matcher or without an agent for an exact ID', () => {
    const options = { trustDomains: [EXAMPLE] };
    expect(() => new IdentityMapper([{ groups: [], attributes: {} }], options)).toThrow('identity rule 0 needs exactly one of spiffeId and spiffeIdPrefix');
    expect(() => new IdentityMapper([{ spiffeId: id('spiffe://example.org/a'), groups: [], attributes: {} }], options)).toThrow(
      'identity rule 0 matches a spiffeId but names no agent',
    );
  });
});
