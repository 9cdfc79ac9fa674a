import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyEngine, PolicyError, PolicySet } from '../../../src/policy';
import { loadPolicies, policyFolders, type PolicyStoreOptions } from '../../../src/policy/policy-store';
import { ShadowedEngine } from '../../../src/policy/shadowed-engine';

const PERMIT = '@id("all")\npermit (principal, action, resource);';
const FORBID = '@id("none")\nforbid (principal, action, resource);';
const BROKEN = '@id("broken")\npermit (principal, action resource);';
const REPORT: PolicyStoreOptions = { onDisagreement: () => undefined, onError: () => undefined };

describe('loadPolicies: the live and shadow sets load, and reload, as one', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'toolgate-store-'));
    writeFileSync(join(dir, 'live.cedar'), PERMIT);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('takes <live>/shadow as the shadow folder when it exists, looked up at every call', () => {
    expect(policyFolders(dir, undefined)).toEqual({ live: dir, shadow: undefined });
    mkdirSync(join(dir, 'shadow'));
    expect(policyFolders(dir, undefined)).toEqual({ live: dir, shadow: join(dir, 'shadow') });
    expect(policyFolders(dir, '/elsewhere')).toEqual({ live: dir, shadow: '/elsewhere' });
  });

  it('builds engines with the fast path when the options ask for it, shadowed or not', () => {
    expect(loadPolicies(policyFolders(dir, undefined), REPORT).engine.fastPathStats).toBeUndefined();
    const fast = { ...REPORT, engine: { fastPath: true, fastPathCheckEvery: 0 } };
    expect(loadPolicies(policyFolders(dir, undefined), fast).engine.fastPathStats).toMatchObject({ compiledPolicies: 1 });
    mkdirSync(join(dir, 'shadow'));
    writeFileSync(join(dir, 'shadow', 'candidate.cedar'), FORBID);
    const both = loadPolicies(policyFolders(dir, undefined), fast);
    expect(both.engine).toBeInstanceOf(ShadowedEngine);
    expect(both.engine.fastPathStats).toMatchObject({ compiledPolicies: 1 });
  });

  it('builds a plain engine without a shadow set, and a ShadowedEngine with one', () => {
    const plain = loadPolicies(policyFolders(dir, undefined), REPORT);
    expect(plain.engine).not.toBeInstanceOf(ShadowedEngine);
    expect(plain.engine).toBeInstanceOf(PolicyEngine);
    expect(plain.shadow).toBeUndefined();

    mkdirSync(join(dir, 'shadow'));
    writeFileSync(join(dir, 'shadow', 'candidate.cedar'), FORBID);
    const both = loadPolicies(policyFolders(dir, undefined), REPORT);
    expect(both.engine).toBeInstanceOf(ShadowedEngine);
    expect(both.live.ids).toEqual(['all']); // the sub-folder is not part of the live set
    expect(both.shadow?.ids).toEqual(['none']);
  });

  it('returns the previous load itself, without parsing anything, when no file changed', () => {
    const first = loadPolicies(policyFolders(dir, undefined), REPORT);
    const load = jest.spyOn(PolicySet, 'loadDirectory');
    try {
      expect(loadPolicies(policyFolders(dir, undefined), REPORT, first)).toBe(first);
      expect(load).not.toHaveBeenCalled();
      writeFileSync(join(dir, 'live.cedar'), FORBID);
      const second = loadPolicies(policyFolders(dir, undefined), REPORT, first);
      expect(load).toHaveBeenCalledTimes(1);
      expect(second.live.hash).not.toBe(first.live.hash);
      expect(second.engine).not.toBe(first.engine);
    } finally {
      load.mockRestore();
    }
  });

  it('keeps the engine (and its decision cache) when only a file no set reads changed', () => {
    const first = loadPolicies(policyFolders(dir, undefined), REPORT);
    writeFileSync(join(dir, 'notes.txt'), 'not policy');
    const second = loadPolicies(policyFolders(dir, undefined), REPORT, first);
    expect(second.digest).not.toBe(first.digest);
    expect(second.engine).toBe(first.engine);
  });

  it('sees a change in the shadow folder, and the shadow folder appearing', () => {
    const first = loadPolicies(policyFolders(dir, undefined), REPORT);
    mkdirSync(join(dir, 'shadow'));
    writeFileSync(join(dir, 'shadow', 'candidate.cedar'), FORBID);
    const second = loadPolicies(policyFolders(dir, undefined), REPORT, first);
    expect(second.shadow?.ids).toEqual(['none']);
    writeFileSync(join(dir, 'shadow', 'candidate.cedar'), PERMIT);
    expect(loadPolicies(policyFolders(dir, undefined), REPORT, second).shadow?.ids).toEqual(['all']);
  });

  it('refuses a broken live set with an error naming the folder, the file and the line', () => {
    writeFileSync(join(dir, 'live.cedar'), BROKEN);
    const err = thrown(() => loadPolicies(policyFolders(dir, undefined), REPORT));
    expect(err).toBeInstanceOf(PolicyError);
    expect(err.code).toBe('ERR_POLICY_PARSE');
    expect(err.message).toMatch(new RegExp(`^policies in ${dir}: policy files cannot be loaded:\\n  live\\.cedar:2:`));
  });

  it('refuses the whole load when the shadow set is broken, naming the shadow folder', () => {
    mkdirSync(join(dir, 'shadow'));
    writeFileSync(join(dir, 'shadow', 'candidate.cedar'), BROKEN);
    const err = thrown(() => loadPolicies(policyFolders(dir, undefined), REPORT));
    expect(err.message).toMatch(new RegExp(`^shadow policies in ${join(dir, 'shadow')}: .*\\n  candidate\\.cedar:2:`));
  });
});

function thrown(fn: () => unknown): PolicyError {
  try {
    fn();
  } catch (err) {
    return err as PolicyError;
  }
  throw new Error('did not throw');
}
