import * as grpc from '@grpc/grpc-js';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PolicySet } from '../../src/policy/policy-set';
import { GatewayWorld, POLICIES, RESEARCH_BOT, unaryCall } from './support/gateway-world';

const READ = 'tools.files.v1.Files/ReadFile';
const WRITE = 'tools.files.v1.Files/WriteFile';
const LIST = 'tools.files.v1.Files/ListDir';

/** The candidate: researchers lose ReadFile and gain WriteFile; ListDir as live. */
const CANDIDATE = `
@id("researchers-list")
permit (principal in AgentGroup::"researchers", action == Action::"${LIST}", resource == Tool::"files");

@id("researchers-write")
permit (principal in AgentGroup::"researchers", action == Action::"${WRITE}", resource == Tool::"files");
`;
/** The next candidate also gives ReadFile back. */
const CANDIDATE_2 = `${CANDIDATE}
@id("researchers-read")
permit (principal in AgentGroup::"researchers", action == Action::"${READ}", resource == Tool::"files");
`;

function writeFile(client: grpc.Client, path: string): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    const call = (client as unknown as { writeFile(cb: (e: grpc.ServiceError | null) => void): grpc.ClientWritableStream<unknown> }).writeFile(resolve);
    call.write({ path, data: Buffer.from('x') });
    call.end();
  });
}

function listDir(client: grpc.Client, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = (client as unknown as { listDir(r: object): grpc.ClientReadableStream<unknown> }).listDir({ path });
    call.on('data', () => undefined);
    call.on('error', reject);
    call.on('end', () => resolve());
  });
}

describe('shadow policies: a candidate set evaluated beside the live one, reported, never deciding', () => {
  let world: GatewayWorld;
  let bot: grpc.Client;
  const shadowFile = () => join(world.policyDir, 'shadow', 'candidate.cedar');
  const disagreements = () => world.decisions.lines.filter((l) => l.shadow !== undefined);
  const disagreementCount = (shadowDecision: 'allow' | 'deny') => world.metric('toolgate_shadow_disagreements_total', { shadow_decision: shadowDecision });

  beforeAll(async () => {
    // policies/shadow/ is the default shadow folder: no config key needed.
    world = await GatewayWorld.start({ policies: { ...POLICIES, 'shadow/candidate.cedar': CANDIDATE }, extraConfig: 'reload: { debounceMs: 50 }\n' });
    world.files.set('/notes/a.txt', Buffer.from('alpha'));
    bot = await world.agent(RESEARCH_BOT);
  });
  afterAll(() => world.close());

  it('keeps a live allow the shadow set would deny, and logs and counts the disagreement', async () => {
    const live = PolicySet.fromText(POLICIES).hash;
    const shadow = PolicySet.fromText({ 'candidate.cedar': CANDIDATE }).hash;
    expect(await world.metric('toolgate_policy_set_info', { policy_set: live, shadow_set: shadow })).toBe(1);

    await expect(unaryCall(bot, 'readFile', { path: '/notes/a.txt' })).resolves.toMatchObject({ content: Buffer.from('alpha') });
    const decision = world.decisions.lines.find((l) => l.action === READ && l.decisionId !== undefined);
    expect(decision).toMatchObject({ decision: 'allow', policies: ['researchers-read-files'], policySet: live });
    expect(disagreements()).toEqual([
      expect.objectContaining({
        caller: RESEARCH_BOT,
        principal: 'Agent::"research-bot"',
        action: READ,
        resource: 'files',
        decision: 'allow',
        policies: ['researchers-read-files'],
        policySet: live,
        shadow: { decision: 'deny', policies: [], errors: [], policySet: shadow },
      }),
    ]);
    expect(await disagreementCount('deny')).toBe(1);
  });

  it('keeps a live deny the shadow set would allow: the call is refused and the tool never sees it', async () => {
    expect((await writeFile(bot, '/notes/new.txt'))?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(world.files.has('/notes/new.txt')).toBe(false);
    expect(disagreements().at(-1)).toMatchObject({ action: WRITE, decision: 'deny', shadow: { decision: 'allow', policies: ['researchers-write'] } });
    expect(await disagreementCount('allow')).toBe(1);
  });

  it('reports nothing when both sets agree', async () => {
    const before = disagreements().length;
    await listDir(bot, '/notes');
    expect(world.decisions.lines.at(-1)).toMatchObject({ action: LIST, decision: 'allow' });
    expect(disagreements()).toHaveLength(before);
  });

  it('reloads the shadow set with the live one: a changed candidate takes effect, a broken one is refused', async () => {
    const reloaded = world.nextReload();
    writeFileSync(shadowFile(), CANDIDATE_2);
    const shadow2 = PolicySet.fromText({ 'candidate.cedar': CANDIDATE_2 }).hash;
    expect(await reloaded).toMatchObject({ msg: 'reloaded', changed: ['shadow set'], shadowSet: shadow2 });
    const before = disagreements().length;
    await unaryCall(bot, 'readFile', { path: '/notes/a.txt' });
    expect(disagreements()).toHaveLength(before); // the candidate now agrees on ReadFile

    const refused = world.nextReload();
    writeFileSync(shadowFile(), 'permit (principal, action, resource'); // broken
    const failure = await refused;
    expect(failure).toMatchObject({ msg: 'reload refused: the last good config and policies keep serving' });
    expect(failure.err).toContain(`shadow policies in ${join(world.policyDir, 'shadow')}`);
    expect(failure.err).toMatch(/candidate\.cedar:1:\d+/);
    expect((await writeFile(bot, '/notes/new.txt'))?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(disagreements().at(-1)).toMatchObject({ action: WRITE, shadow: { decision: 'allow', policySet: shadow2 } });
  });

  it('stops shadow evaluation when the shadow folder is removed', async () => {
    const reloaded = world.nextReload();
    rmSync(join(world.policyDir, 'shadow'), { recursive: true });
    const line = await reloaded;
    expect(line).toMatchObject({ msg: 'reloaded', changed: ['shadow set'] });
    expect(line.shadowSet).toBeUndefined();
    const before = disagreements().length;
    expect((await writeFile(bot, '/notes/new.txt'))?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(disagreements()).toHaveLength(before);
  });
});
