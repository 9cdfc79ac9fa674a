import { join } from 'node:path';
import { PolicyEngine, PolicySet, type CedarValue } from '../../../src/policy';
import { agent, LIST, READ, request, SYNC, workload, WRITE } from './fixtures';

/** A decoded message per method, as the gateway puts it in `context.request` (and `context.stream` for client streams). */
const MESSAGES: Record<string, Record<string, CedarValue>> = {
  [READ]: { request: { path: '/reports/q3.md', maxBytes: 0 } },
  [LIST]: { request: { path: '/reports' } },
  [WRITE]: { request: { path: '/reports/q4.md', data: '' }, stream: { index: 0 } },
  [SYNC]: { request: { path: '/reports/q3.md', op: 'OP_STAT' }, stream: { index: 0 } },
};

/** policies/: the example schema validates the example policies in strict mode, and they decide as documented. */
describe('example policies', () => {
  const set = PolicySet.loadDirectory(join(__dirname, '../../../policies'));
  const engine = new PolicyEngine(set);
  const decide = (...args: Parameters<typeof request>) => {
    const call = request(...args);
    const d = engine.authorize({ ...call, context: { ...call.context, ...MESSAGES[call.action] } });
    return { allow: d.allow, policies: d.policies, errors: d.errors };
  };
  const allowed = (id: string) => ({ allow: true, policies: [id], errors: [] });
  const denied = (...ids: string[]) => ({ allow: false, policies: ids, errors: [] });

  const researcher = agent('research-bot', ['researchers'], { team: 'research', tier: 'standard' });
  const ci = agent('build-7', ['ci']);

  it('loads with the schema, every policy named by @id', () => {
    expect(set.schema).toBeDefined();
    expect(set.warnings).toEqual([]);
    expect(set.ids).toEqual([
      'researchers-read-files',
      'researchers-sync-for-a-task',
      'ci-uses-files',
      'workloads-never-write',
      'sandbox-tier-read-only',
      'no-reading-secrets',
      'no-changes-as-a-task-ends',
      'researchers-list-notes',
      'researchers-read-notes',
      'payroll-notes-need-approval',
      'no-reading-secret-notes',
      'researchers-begin-read-tasks',
      'ci-begins-tasks',
    ]);
  });

  it('lets researchers read, and sync only for a task', () => {
    expect(decide(researcher, READ)).toEqual(allowed('researchers-read-files'));
    expect(decide(researcher, LIST)).toEqual(allowed('researchers-read-files'));
    expect(decide(researcher, WRITE)).toEqual(denied());
    expect(decide(researcher, SYNC)).toEqual(denied());
    expect(decide(researcher, SYNC, { metadata: { 'x-task-id': 'task-9' } })).toEqual(allowed('researchers-sync-for-a-task'));
    expect(decide(researcher, READ, { resource: 'payments' })).toEqual(denied());
  });

  it('lets CI use the whole service over mTLS only', () => {
    for (const action of [READ, LIST, WRITE, SYNC]) expect(decide(ci, action)).toEqual(allowed('ci-uses-files'));
    expect(decide(ci, WRITE, { authn: 'jwt-svid' })).toEqual(denied());
  });

  it('keeps sandbox-tier agents read-only whatever their groups', () => {
    const sandboxed = agent('build-sandbox', ['ci'], { tier: 'sandbox' });
    expect(decide(sandboxed, READ)).toEqual(allowed('ci-uses-files'));
    expect(decide(sandboxed, WRITE)).toEqual(denied('sandbox-tier-read-only'));
  });

  it('lets nobody read under /secrets/', () => {
    const secret = { request: { path: '/secrets/api-key', maxBytes: 0 } };
    for (const caller of [researcher, ci]) {
      const call = request(caller, READ);
      const d = engine.authorize({ ...call, context: { ...call.context, ...secret } });
      expect([d.allow, d.policies, d.errors]).toEqual([false, ['no-reading-secrets'], []]);
    }
  });

  it('never lets an unmapped workload change files, and permits it nothing else', () => {
    const stranger = workload('/tools/indexer');
    expect(decide(stranger, WRITE)).toEqual(denied('workloads-never-write'));
    expect(decide(stranger, SYNC)).toEqual(denied('workloads-never-write'));
    expect(decide(stranger, READ)).toEqual(denied());
  });
});
