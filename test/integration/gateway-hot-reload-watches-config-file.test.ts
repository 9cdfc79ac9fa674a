import * as grpc from '@grpc/grpc-js';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GatewayWorld, RESEARCH_BOT } from './support/gateway-world';

const WRITE = 'tools.files.v1.Files/WriteFile';

/** A client-streaming WriteFile of one chunk; resolves with the error, or null. */
function writeFile(client: grpc.Client, path: string): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    const call = (client as unknown as { writeFile(cb: (e: grpc.ServiceError | null) => void): grpc.ClientWritableStream<unknown> }).writeFile(resolve);
    call.write({ path, data: Buffer.from('x') });
    call.end();
  });
}

describe('hot reload when the config file changes: a new agent group applies without a restart', () => {
  let world: GatewayWorld;
  beforeAll(async () => {
    world = await GatewayWorld.start({ extraConfig: 'reload: { debounceMs: 50 }\n' });
  });
  afterAll(() => world.close());

  it('reloads on an editor-style save of the config file (write a temp file, rename it over) and maps by the new rule', async () => {
    const bot = await world.agent(RESEARCH_BOT);
    expect((await writeFile(bot, '/notes/a.txt'))?.code).toBe(grpc.status.PERMISSION_DENIED);

    // research-bot joins the ci group, whose policy permits every Files method.
    const yaml = readFileSync(world.configFile, 'utf8').replace('groups: [researchers]', 'groups: [researchers, ci]');
    const reloaded = world.nextReload();
    writeFileSync(join(world.spiffe.tempDir, '.toolgate.yaml.swp'), yaml);
    renameSync(join(world.spiffe.tempDir, '.toolgate.yaml.swp'), world.configFile);
    expect(await reloaded).toMatchObject({ msg: 'reloaded', changed: ['identities'] });

    expect(await writeFile(bot, '/notes/a.txt')).toBeNull();
    expect(world.files.get('/notes/a.txt')?.toString()).toBe('x');
    expect(world.decisions.lines.at(-1)).toMatchObject({ action: WRITE, principal: 'Agent::"research-bot"', decision: 'allow', policies: ['ci-writes-files'] });
  });
});
