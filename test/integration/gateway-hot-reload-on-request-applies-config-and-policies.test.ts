import * as grpc from '@grpc/grpc-js';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PolicySet } from '../../src/policy/policy-set';
import { GatewayWorld, RESEARCH_BOT, STRANGER, unaryCall } from './support/gateway-world';
import { sleep } from './support/workload-fixtures';

const READ = 'tools.files.v1.Files/ReadFile';
const FORBID_READS = `@id("reads-paused")\nforbid (principal, action == Action::"${READ}", resource);\n`;
/** An identity rule mapping the stranger to an agent of the researchers group. */
const STRANGER_RULE = `  - spiffeId: ${STRANGER}\n    agent: stranger\n    groups: [researchers]\n`;

/**
 * `gateway.reload()` is what SIGHUP calls (`toolgate run`; its wiring is tested in
 * test/unit/cli). Watching is off here, so that only `reload()` can change anything.
 */
describe('reload on request (SIGHUP): policies and config, without a restart', () => {
  let world: GatewayWorld;
  let originalConfig: string;
  beforeAll(async () => {
    world = await GatewayWorld.start({ extraConfig: 'reload: { watch: false }\n' });
    world.files.set('/f', Buffer.from('data'));
    originalConfig = readFileSync(world.configFile, 'utf8');
  });
  afterAll(() => world.close());
  afterEach(() => {
    writeFileSync(world.configFile, originalConfig);
    rmSync(join(world.policyDir, 'guardrails.cedar'), { force: true });
    expect(world.gateway.reload('test cleanup').result).toBe('success');
  });

  const readAs = async (id: string) => unaryCall<{ content: Buffer }>(await world.agent(id), 'readFile', { path: '/f' });
  const editConfig = (edit: (yaml: string) => string) => writeFileSync(world.configFile, edit(readFileSync(world.configFile, 'utf8')));

  it('applies a policy change on reload() and not before', async () => {
    const before = world.gateway.pipeline.current.policyHash;
    writeFileSync(join(world.policyDir, 'guardrails.cedar'), FORBID_READS);
    await sleep(200);
    expect(world.gateway.pipeline.current.policyHash).toBe(before);
    await expect(readAs(RESEARCH_BOT)).resolves.toBeDefined();

    const after = PolicySet.loadDirectory(world.policyDir).hash;
    expect(world.gateway.reload('SIGHUP')).toEqual({ result: 'success', changed: ['policy set'], restartNeeded: [], policySet: after, shadowSet: undefined });
    await expect(readAs(RESEARCH_BOT)).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    expect(world.decisions.lines.at(-1)).toMatchObject({ decision: 'deny', policies: ['reads-paused'], policySet: after });
    expect(world.operations.lines.at(-1)).toMatchObject({ msg: 'reloaded', reason: 'SIGHUP', previousPolicySet: before, policySet: after });
  });

  it('maps a caller by a new identity rule after the config file is edited and reloaded', async () => {
    const stranger = await world.agent(STRANGER);
    await expect(unaryCall(stranger, 'readFile', { path: '/f' })).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    expect(world.decisions.lines.at(-1)).toMatchObject({ principal: `Workload::"${STRANGER}"`, decision: 'deny' });

    editConfig((yaml) => yaml.replace('identities:\n', `identities:\n${STRANGER_RULE}`));
    expect(world.gateway.reload()).toMatchObject({ result: 'success', changed: ['identities'], restartNeeded: [] });
    // The same connection: the principal is resolved per call, from the state in force.
    await expect(unaryCall(stranger, 'readFile', { path: '/f' })).resolves.toMatchObject({ content: Buffer.from('data') });
    expect(world.decisions.lines.at(-1)).toMatchObject({ principal: 'Agent::"stranger"', decision: 'allow', policies: ['researchers-read-files'] });
    expect(world.gateway.config.identities[0]!.agent).toBe('stranger');
  });

  it('refuses a config file with an error, naming the file, line and key, and keeps the last good config and policies', async () => {
    editConfig((yaml) => yaml.replace('identities:\n', `identities:\n${STRANGER_RULE}`));
    writeFileSync(join(world.policyDir, 'guardrails.cedar'), FORBID_READS);
    editConfig((yaml) => `${yaml}drainTimeoutSecs: 3\n`);
    const failuresBefore = await world.metric('toolgate_policy_reload_total', { result: 'failure' });
    const serving = world.gateway.pipeline.current.policyHash;

    const outcome = world.gateway.reload();
    expect(outcome.result).toBe('failure');
    expect(outcome.result === 'failure' && outcome.error.message).toMatch(/toolgate\.yaml:\d+: drainTimeoutSecs: unknown key/);
    expect(world.operations.lines.at(-1)).toMatchObject({
      msg: 'reload refused: the last good config and policies keep serving',
      err: expect.stringContaining('drainTimeoutSecs'),
    });
    expect(await world.metric('toolgate_policy_reload_total', { result: 'failure' })).toBe(failuresBefore + 1);
    expect(await world.metric('toolgate_policy_last_reload_successful')).toBe(0);
    // Nothing of the refused files is in force: neither the new rule nor the new policy.
    expect(world.gateway.pipeline.current.policyHash).toBe(serving);
    await expect(readAs(STRANGER)).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    expect(world.decisions.lines.at(-1)).toMatchObject({ principal: `Workload::"${STRANGER}"`, policySet: serving });
    await expect(readAs(RESEARCH_BOT)).resolves.toBeDefined();
  });

  it('applies what it can and logs the keys that need a restart, which keep their running values', async () => {
    const listen = world.gateway.config.listen;
    editConfig((yaml) => yaml.replace('listen: 127.0.0.1:0', 'listen: 127.0.0.1:1').replace('identities:\n', `identities:\n${STRANGER_RULE}`));
    expect(world.gateway.reload()).toMatchObject({ result: 'success', changed: ['identities'], restartNeeded: ['listen'] });
    expect(world.operations.lines.at(-1)).toMatchObject({ level: 40, keys: ['listen'], msg: expect.stringContaining('need a restart') });
    expect(world.gateway.config.listen).toEqual(listen);
    await expect(readAs(STRANGER)).resolves.toBeDefined();
  });

  it('counts a reload that changes nothing as a success and keeps the state (and its caches) as it is', () => {
    const state = world.gateway.pipeline.current;
    expect(world.gateway.reload()).toMatchObject({ result: 'success', changed: [], restartNeeded: [] });
    expect(world.gateway.pipeline.current).toBe(state);
    expect(world.operations.lines.at(-1)).toMatchObject({ msg: 'reloaded: nothing changed' });
  });
});
