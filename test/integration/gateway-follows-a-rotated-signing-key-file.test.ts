import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { newSigningJwk } from '../../src/cli/signing-key';
import { JWKS_PATH } from '../../src/credentials/jwks-route';
import { GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { call, taskMetadata, tasksOf } from './support/task-calls';

/** Retries `check` for up to 3 s, for what the gateway does asynchronously. */
async function eventually(check: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 3000;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** The kids the gateway's admin port publishes. */
async function publishedKids(world: GatewayWorld): Promise<string[]> {
  const response = await fetch(`http://127.0.0.1:${world.gateway.adminAddress!.port}${JWKS_PATH}`);
  return ((await response.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
}

describe('a signing key mounted from a Secret, rotated in place', () => {
  let dir: string;
  let keyFile: string;
  let world: GatewayWorld;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'toolgate-key-'));
    keyFile = join(dir, 'signing.jwk');
    writeFileSync(keyFile, JSON.stringify({ ...(await newSigningJwk()), kid: 'first' }));
    world = await GatewayWorld.start({
      verifyCallTokens: true,
      policies: { 'all.cedar': 'permit (principal, action, resource);' },
      extraConfig: `credentials:\n  signingKeyFile: ${keyFile}\n`,
    });
    world.files.set('/a', Buffer.from('a'));
  });
  afterAll(async () => {
    await world?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("signs with the file's key, follows a new key on reload, keeps verifying what the old key signed, and keeps the key when the file turns bad", async () => {
    const bot = await world.agent(RESEARCH_BOT);
    expect(await publishedKids(world)).toEqual(['first']);
    const before = await (await tasksOf(world, RESEARCH_BOT)).begin({ tools: ['tools.files.v1.Files'], ttlSeconds: 600 });
    expect(decodeProtectedHeader(before.token).kid).toBe('first');

    writeFileSync(keyFile, JSON.stringify({ ...(await newSigningJwk()), kid: 'second' }));
    world.gateway.reload('test');
    await eventually(async () => expect(await publishedKids(world)).toEqual(['second', 'first'])); // the file is read asynchronously
    // A task token signed with the retired key still works; new call tokens carry the new kid.
    await call(bot, 'readFile', { path: '/a' }, taskMetadata(before.token));
    expect(world.verifiedCalls.at(-1)!.payload).toMatchObject({ task_id: before.taskId });
    const after = await (await tasksOf(world, RESEARCH_BOT)).begin({ tools: ['tools.files.v1.Files'], ttlSeconds: 600 });
    expect(decodeProtectedHeader(after.token).kid).toBe('second');

    writeFileSync(keyFile, '{"kty":"EC","crv":"P-256","d":"broken"}');
    world.gateway.reload('test');
    await eventually(async () => expect(world.operations.lines.some((l) => l.msg === 'signing key file not reloaded; keeping the current key')).toBe(true));
    expect(JSON.stringify(world.operations.lines)).not.toContain('broken'); // no key material in the log
    expect(await publishedKids(world)).toEqual(['second', 'first']);
    await call(bot, 'readFile', { path: '/a' }, taskMetadata(after.token));
  });
});
