import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyError, PolicySet } from '../../../src/policy';

function loadError(load: () => unknown): PolicyError {
  try {
    load();
  } catch (err) {
    if (err instanceof PolicyError) return err;
    throw err;
  }
  throw new Error('expected the set to be refused');
}

const PERMIT_ALL = 'permit (principal, action, resource);';

describe('PolicySet ids', () => {
  it('takes ids from @id, else <file>#<index> counted within the file', () => {
    const set = PolicySet.fromText({
      'b.cedar': `${PERMIT_ALL}\n@id("named")\nforbid (principal, action, resource);\n${PERMIT_ALL}`,
      'a.cedar': PERMIT_ALL,
    });
    expect(set.ids).toEqual(['a.cedar#0', 'b.cedar#0', 'named', 'b.cedar#2']);
    expect(set.size).toBe(4);
    expect(set.policies.map((p) => [p.file, p.index, p.position.line])).toEqual([
      ['a.cedar', 0, 1],
      ['b.cedar', 0, 1],
      ['b.cedar', 1, 2],
      ['b.cedar', 2, 4],
    ]);
  });

  it('keeps source order past ten policies (Cedar returns them sorted as policy0, policy1, policy10, ...)', () => {
    const text = Array.from({ length: 12 }, (_, i) => `permit (principal == Agent::"a${i}", action, resource);`).join('\n');
    const set = PolicySet.fromText({ 'many.cedar': text });
    expect(set.ids).toEqual(Array.from({ length: 12 }, (_, i) => `many.cedar#${i}`));
    expect(set.policies[10]?.text).toContain('Agent::"a10"');
    expect(set.policies[2]?.text).toContain('Agent::"a2"');
  });

  it('numbers identical policies by position; a copy in a comment or a string is not taken for a policy', () => {
    const quoted = `@id("q")\nforbid (principal, action, resource) when { context.note == "${PERMIT_ALL.replace(/"/g, '\\"')}" };`;
    const set = PolicySet.fromText({ 'x.cedar': `// ${PERMIT_ALL}\n${PERMIT_ALL}\n\n${PERMIT_ALL}\n${quoted}\n${PERMIT_ALL}` });
    expect(set.ids).toEqual(['x.cedar#0', 'x.cedar#1', 'q', 'x.cedar#3']);
    expect(set.policies.map((p) => p.position.line)).toEqual([2, 4, 5, 7]);
  });

  it('refuses duplicate ids across files, naming both files', () => {
    const err = loadError(() => PolicySet.fromText({ 'one.cedar': `@id("dup")\n${PERMIT_ALL}`, 'two.cedar': `${PERMIT_ALL}\n@id("dup")\n${PERMIT_ALL}` }));
    expect(err.code).toBe('ERR_POLICY_LOAD');
    expect(err.problems).toEqual(['"dup" in one.cedar:1 and two.cedar:2']);
  });

  it('refuses an @id that collides with a generated id', () => {
    const err = loadError(() => PolicySet.fromText({ 'a.cedar': `${PERMIT_ALL}\n@id("a.cedar#0")\n${PERMIT_ALL}` }));
    expect(err.problems).toEqual(['"a.cedar#0" in a.cedar:1 and a.cedar:2']);
  });
});

describe('PolicySet refuses bad files', () => {
  it('names the file, line and column of a parse error, for every file that fails', () => {
    const err = loadError(() =>
      PolicySet.fromText({
        'good.cedar': PERMIT_ALL,
        'bad.cedar': `${PERMIT_ALL}\n\npermit (principal, action resource);`,
        'worse.cedar': 'permit (principal, action, resource) when { context.x == };',
      }),
    );
    expect(err.code).toBe('ERR_POLICY_PARSE');
    expect(err.problems).toHaveLength(2);
    expect(err.problems[0]).toMatch(/^bad\.cedar:3:27: .*unexpected token `resource`/);
    expect(err.problems[1]).toMatch(/^worse\.cedar:1:\d+: /);
    expect(err.message).toContain('bad.cedar:3:27');
  });

  it('refuses templates', () => {
    const err = loadError(() => PolicySet.fromText({ 't.cedar': 'permit (principal == ?principal, action, resource);' }));
    expect(err.code).toBe('ERR_POLICY_PARSE');
    expect(err.problems).toEqual(['t.cedar: has templates (policies with ?principal or ?resource slots), which toolgate does not link']);
  });

  it('refuses an empty @id', () => {
    const err = loadError(() => PolicySet.fromText({ 'e.cedar': `@id("")\n${PERMIT_ALL}` }));
    expect(err.code).toBe('ERR_POLICY_PARSE');
    expect(err.problems).toEqual(['e.cedar:1:1: @id must not be empty']);
  });
});

describe('PolicySet with a schema', () => {
  const schema = `
    entity AgentGroup;
    entity Agent in [AgentGroup] { spiffeId: String, tier?: String };
    entity Tool;
    action "svc.S";
    action "svc.S/M" in ["svc.S"] appliesTo { principal: [Agent], resource: [Tool], context: { peer: { authn: String } } };
  `;

  it('accepts policies that validate in strict mode', () => {
    const set = PolicySet.fromText(
      { 'ok.cedar': '@id("ok")\npermit (principal in AgentGroup::"g", action in Action::"svc.S", resource) when { principal has tier && principal.tier == "x" };' },
      schema,
    );
    expect(set.ids).toEqual(['ok']);
    expect(set.schema).toBe(schema);
  });

  it('refuses a policy that reads an undeclared attribute, naming the policy, the attribute and where', () => {
    const err = loadError(() =>
      PolicySet.fromText(
        { 'ok.cedar': PERMIT_ALL, 'bad.cedar': `${PERMIT_ALL}\n@id("reads-nonexistent")\npermit (principal, action, resource)\nwhen { principal.nonexistent == "x" };` },
        schema,
      ),
    );
    expect(err.code).toBe('ERR_POLICY_VALIDATION');
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^policy "reads-nonexistent" at bad\.cedar:4:8: .*attribute `nonexistent` on entity type `Agent` not found/);
  });

  it('refuses an optional attribute read without `has` (strict mode)', () => {
    const err = loadError(() => PolicySet.fromText({ 'p.cedar': 'permit (principal, action, resource) when { principal.tier == "x" };' }, schema));
    expect(err.problems[0]).toMatch(/^policy "p\.cedar#0" at p\.cedar:1:45: .*optional attribute `tier`/);
  });

  it('refuses a schema that does not parse, naming where', () => {
    const err = loadError(() => PolicySet.fromText({ 'p.cedar': PERMIT_ALL }, 'entity A {'));
    expect(err.code).toBe('ERR_POLICY_SCHEMA');
    expect(err.problems[0]).toMatch(/^schema\.cedarschema:1:11: /);
  });
});

describe('PolicySet.hash', () => {
  const files = { 'a.cedar': PERMIT_ALL, 'b.cedar': '@id("x")\nforbid (principal, action, resource);' };

  it('is a short hex digest that depends on content, not on the order files were given', () => {
    const hash = PolicySet.fromText(files).hash;
    expect(hash).toMatch(/^[0-9a-f]{12}$/);
    expect(PolicySet.fromText({ 'b.cedar': files['b.cedar'], 'a.cedar': files['a.cedar'] }).hash).toBe(hash);
  });

  it('changes when a file, a file name or the schema changes', () => {
    const hash = PolicySet.fromText(files).hash;
    expect(PolicySet.fromText({ ...files, 'a.cedar': `${PERMIT_ALL}\n` }).hash).not.toBe(hash);
    expect(PolicySet.fromText({ 'c.cedar': files['a.cedar'], 'b.cedar': files['b.cedar'] }).hash).not.toBe(hash);
    expect(PolicySet.fromText(files, 'entity Tool;').hash).not.toBe(hash);
  });
});

describe('PolicySet.loadDirectory', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'toolgate-policies-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads *.cedar sorted and one schema, skipping sub-folders, dot files and other files; follows symlinks', () => {
    writeFileSync(join(dir, 'b.cedar'), PERMIT_ALL);
    mkdirSync(join(dir, 'real'));
    writeFileSync(join(dir, 'real', 'linked.cedar'), '@id("via-link")\nforbid (principal, action, resource);');
    symlinkSync(join(dir, 'real', 'linked.cedar'), join(dir, 'a.cedar'));
    mkdirSync(join(dir, 'shadow'));
    writeFileSync(join(dir, 'shadow', 'candidate.cedar'), '@id("shadow")\npermit (principal, action, resource);');
    mkdirSync(join(dir, 'folder.cedar'));
    writeFileSync(join(dir, '.#b.cedar'), 'not cedar');
    writeFileSync(join(dir, 'notes.txt'), 'not cedar');
    writeFileSync(join(dir, 'schema.cedarschema'), 'entity Agent; entity Tool; action "s/M" appliesTo { principal: [Agent], resource: [Tool] };');
    const set = PolicySet.loadDirectory(dir);
    expect(set.ids).toEqual(['via-link', 'b.cedar#0']);
    expect(set.schema).toContain('entity Agent;');
    expect(PolicySet.loadDirectory(join(dir, 'shadow')).ids).toEqual(['shadow']);
  });

  it('gives the same hash as fromText for the same files', () => {
    writeFileSync(join(dir, 'a.cedar'), PERMIT_ALL);
    expect(PolicySet.loadDirectory(dir).hash).toBe(PolicySet.fromText({ 'a.cedar': PERMIT_ALL }).hash);
  });

  it('refuses two schemas, naming both', () => {
    writeFileSync(join(dir, 'a.cedarschema'), 'entity A;');
    writeFileSync(join(dir, 'b.cedarschema'), 'entity B;');
    const err = loadError(() => PolicySet.loadDirectory(dir));
    expect(err.code).toBe('ERR_POLICY_LOAD');
    expect(err.message).toBe(`${dir} has more than one schema: a.cedarschema, b.cedarschema`);
  });

  it('refuses a missing directory, naming it', () => {
    const err = loadError(() => PolicySet.loadDirectory(join(dir, 'missing')));
    expect(err.code).toBe('ERR_POLICY_LOAD');
    expect(err.message).toContain(`cannot read policy directory ${join(dir, 'missing')}`);
  });
});
