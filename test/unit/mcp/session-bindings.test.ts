import { SessionBindings } from '../../../src/mcp/session-bindings';

describe('SessionBindings', () => {
  it('binds a session to the caller that opened it, and refuses it to any other', () => {
    const sessions = new SessionBindings();
    expect(sessions.bind('s1', 'spiffe://a')).toBe('bound');
    expect(sessions.check('s1', 'spiffe://a')).toBe('own');
    expect(sessions.check('s1', 'spiffe://b')).toBe('foreign');
    expect(sessions.bind('s1', 'spiffe://b')).toBe('taken');
    expect(sessions.check('s1', 'spiffe://a')).toBe('own');
    expect(sessions.check('s2', 'spiffe://a')).toBe('unknown');
    sessions.end('s1');
    expect(sessions.check('s1', 'spiffe://a')).toBe('unknown');
  });

  it('forgets the oldest binding past its bound', () => {
    const sessions = new SessionBindings(2);
    sessions.bind('s1', 'a');
    sessions.bind('s2', 'a');
    sessions.bind('s3', 'a');
    expect([sessions.check('s1', 'a'), sessions.check('s2', 'a'), sessions.check('s3', 'a')]).toEqual(['unknown', 'own', 'own']);
    expect(sessions.size).toBe(2);
  });

  it("forgets a caller's own oldest binding past its per-caller bound, never another caller's", () => {
    const sessions = new SessionBindings(100, 2);
    sessions.bind('victim', 'b');
    sessions.bind('s1', 'a');
    sessions.bind('s2', 'a');
    sessions.bind('s3', 'a');
    expect([sessions.check('victim', 'b'), sessions.check('s1', 'a'), sessions.check('s2', 'a'), sessions.check('s3', 'a')]).toEqual(['own', 'unknown', 'own', 'own']);
    // Ending sessions gives their room back.
    sessions.end('s2');
    sessions.bind('s4', 'a');
    expect([sessions.check('s3', 'a'), sessions.check('s4', 'a')]).toEqual(['own', 'own']);
    for (let i = 0; i < 50; i++) sessions.bind(`loop-${i}`, 'a');
    expect(sessions.check('victim', 'b')).toBe('own');
    expect(sessions.size).toBe(3);
  });

  it('claims request ids per session while in flight: a second claim of one is refused, whole, until released', () => {
    const sessions = new SessionBindings();
    expect(sessions.claimIds('s1', ['number:1', 'string:a'])).toBe(true);
    expect(sessions.claimIds('s1', ['number:2', 'number:1'])).toBe(false);
    // Nothing of the refused claim was taken, and other sessions are apart.
    expect(sessions.claimIds('s1', ['number:2'])).toBe(true);
    expect(sessions.claimIds('s2', ['number:1'])).toBe(true);
    sessions.releaseIds('s1', ['number:1', 'string:a']);
    expect(sessions.claimIds('s1', ['number:1'])).toBe(true);
    expect(sessions.claimIds('s1', [])).toBe(true);
  });
});
