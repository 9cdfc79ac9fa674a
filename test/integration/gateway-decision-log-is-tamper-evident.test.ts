import * as grpc from '@grpc/grpc-js';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main';
import { loadConfig } from '../../src/config/load-config';
import { FilesClient } from '../../src/examples/files-proto';
import { CHECKPOINT_KEYS_PATH } from '../../src/observability/checkpoint-key';
import { NoteSigner, openNote } from '../../src/observability/signed-note';
import { Gateway } from '../../src/server/gateway';
import { authorizeId } from '../../src/spiffe/tls/authorizer';
import { grpcChannelCredentials } from '../../src/spiffe/tls/grpc-credentials';
import { GATEWAY_ID, GatewayWorld, RESEARCH_BOT, STRANGER, unaryCall } from './support/gateway-world';
import { waitUntil } from './support/workload-fixtures';

/**
 * A real gateway writes its decision log to a file, signed with a mounted checkpoint key;
 * the file is rotated (renamed, then SIGHUP's reload) and the gateway restarted. The files,
 * untouched, verify with the keys its admin port publishes; each kind of tampering makes
 * `toolgate audit verify` fail naming the line it broke.
 */
describe('the decision log is tamper-evident, and `toolgate audit verify` proves it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-audit-'));
  const log = join(dir, 'decisions.log');
  const rotated = `${log}.1`;
  const keyFile = join(dir, 'checkpoint.key');
  const keysFile = join(dir, 'keys.txt');
  let world: GatewayWorld;
  let restarted: Gateway | undefined;
  /** The untouched files, as lines: the rotated one, then the current one. */
  let before: string[];
  let after: string[];

  const run = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l), signal: new AbortController().signal });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const fileLines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);
  /** `audit verify` over the two files as given, the keys fetched from the admin port. */
  const verify = (rotatedLines: string[], currentLines: string[], ...flags: string[]) => {
    const tampered = mkdtempSync(join(dir, 'tampered-'));
    writeFileSync(join(tampered, 'decisions.log.1'), `${rotatedLines.join('\n')}\n`);
    writeFileSync(join(tampered, 'decisions.log'), `${currentLines.join('\n')}\n`);
    return run('audit', 'verify', '--keys', keysFile, ...flags, join(tampered, 'decisions.log.1'), join(tampered, 'decisions.log'));
  };
  const where = (lines: string[], test: (line: Record<string, unknown>) => boolean) => lines.findIndex((l) => test(JSON.parse(l) as Record<string, unknown>));
  const isRecord = (l: Record<string, unknown>) => typeof l.decisionId === 'string';

  beforeAll(async () => {
    const key = await run('audit', 'key', '--name', 'toolgate-decisions-test');
    writeFileSync(keyFile, `${key.out}\n`);
    world = await GatewayWorld.start({
      ownDecisionLog: true,
      extraConfig: `decisionLog:\n  destination: ${log}\n  checkpointKeyFile: ${keyFile}\n  checkpointRecords: 3\n  checkpointSeconds: 1\n`,
    });
    world.files.set('/notes/a.txt', Buffer.from('alpha'));
    const published = await fetch(`http://127.0.0.1:${world.gateway.adminAddress!.port}${CHECKPOINT_KEYS_PATH}`);
    writeFileSync(keysFile, await published.text());

    const bot = await world.agent(RESEARCH_BOT);
    const stranger = await world.agent(STRANGER);
    for (let i = 0; i < 4; i += 1) await unaryCall(bot, 'readFile', { path: '/notes/a.txt' });
    await expect(unaryCall(stranger, 'readFile', { path: '/notes/a.txt' })).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    await waitUntil(() => existsSync(log) && fileLines(log).filter((l) => l.includes('"decisionId"')).length === 5, 5000);

    // Rotation as logrotate does it: rename, then SIGHUP (a reload), which reopens the path.
    renameSync(log, rotated);
    world.gateway.reload('SIGHUP');
    for (let i = 0; i < 2; i += 1) await unaryCall(bot, 'readFile', { path: '/notes/a.txt' });
    await waitUntil(() => existsSync(log) && fileLines(log).some((l) => l.includes('"decisionId"')), 5000);

    // A restart: the closing checkpoint, then a new origin that names where the last one stopped.
    await world.gateway.close(1000);
    await waitUntil(() => fileLines(log).at(-1)!.includes('\\nclosed\\n'), 5000);
    restarted = await Gateway.start(loadConfig(world.configFile), { logger: world.operations.logger, svidTimeoutMs: 5000 });
    const again = new FilesClient(`127.0.0.1:${restarted.address.port}`, grpcChannelCredentials(await world.spiffe.workload(RESEARCH_BOT), authorizeId(GATEWAY_ID)));
    await unaryCall(again, 'readFile', { path: '/notes/a.txt' });
    again.close();
    await restarted.close(1000);
    await waitUntil(() => fileLines(log).filter((l) => l.includes('\\nclosed\\n')).length === 2, 5000);
    before = fileLines(rotated);
    after = fileLines(log);
  }, 30_000);
  afterAll(async () => {
    await restarted?.close(0);
    await world?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes every record chained, publishes the key it signs with, and the untouched files verify', async () => {
    expect(readFileSync(keysFile, 'utf8')).toMatch(/^toolgate-decisions-test\+[0-9a-f]{8}\+\S+\n$/);
    expect((await run('audit', 'vkey', keyFile)).out).toBe(readFileSync(keysFile, 'utf8').trim());
    const records = [...before, ...after].map((l) => JSON.parse(l) as Record<string, unknown>).filter(isRecord);
    expect(records).toHaveLength(8);
    expect(records[0]).toMatchObject({ level: 'info', log: 'decision', caller: RESEARCH_BOT, decision: 'allow', seq: 1, origin: expect.stringMatching(/^toolgate\//) });
    // Rotation continued the chain in the new file: its first record is seq 6 of the same origin.
    const first = JSON.parse(after.find((l) => l.includes('"decisionId"'))!) as Record<string, unknown>;
    expect(first).toMatchObject({ seq: 6, origin: records[0]!.origin });
    const genesis = after.map((l) => JSON.parse(l) as { genesis?: { previous?: { origin: string; last: { seq: number } } } }).find((l) => l.genesis)!;
    expect(genesis.genesis!.previous).toMatchObject({ origin: records[0]!.origin, last: { seq: 7 } });

    const result = await verify(before, after);
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toMatch(/: 7 records, \d+ checkpoints, continued by toolgate\//);
    expect(result.out).toMatch(/: 1 records, \d+ checkpoints, closed/);
    expect(result.out).toMatch(/intact$/);
    // The rotated file alone is a prefix, the current one alone begins mid-chain.
    expect((await run('audit', 'verify', '--keys', keysFile, log)).err).toMatch(/decisions\.log:1: origin \S+(, seq 6)?: .*genesis line was not seen/);
  });

  it('one byte of a record edited: that record is named', async () => {
    const i = where(before, (l) => l.seq === 3);
    const tampered = before.map((l, j) => (j === i ? l.replace('"decision":"allow"', '"decision":"allox"') : l));
    const result = await verify(tampered, after);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(new RegExp(`decisions\\.log\\.1:${i + 1}: origin \\S+, seq 3: the record does not match its hash`));
  });

  it('a record deleted: the one after the gap is named', async () => {
    const i = where(before, (l) => l.seq === 2);
    const result = await verify(
      before.filter((_, j) => j !== i),
      after,
    );
    expect(result.err).toMatch(new RegExp(`decisions\\.log\\.1:${i + 1}: origin \\S+, seq 3: seq 3 follows seq 1: record 2 is missing`));
  });

  it('two records swapped: the first out of place is named', async () => {
    const i = where(after, (l) => l.seq === 6);
    const j = where(after, (l) => l.seq === 7);
    const swapped = after.map((l, k) => (k === i ? after[j]! : k === j ? after[i]! : l));
    const result = await verify(before, swapped);
    expect(result.err).toMatch(new RegExp(`decisions\\.log:${i + 1}: origin \\S+, seq 7: seq 7 follows seq 5: record 6 is missing`));
  });

  it('the tail dropped: once older than the heartbeat allows, the first record no checkpoint signs is named', async () => {
    const i = where(after, (l) => isRecord(l) && l.seq === 1);
    const cut = after.slice(0, i + 1);
    const result = await verify(before, cut, '--at', new Date(Date.now() + 3600_000).toISOString());
    expect(result.err).toMatch(new RegExp(`decisions\\.log:${i + 1}: origin \\S+, seq 1: no checkpoint signs this line`));
  });

  it('a checkpoint forged with another key: it is named', async () => {
    const i = where(before, (l) => typeof l.checkpoint === 'string');
    const forger = NoteSigner.generate('toolgate-decisions-test');
    const forged = before.map((l, j) => {
      if (j !== i) return l;
      const line = JSON.parse(l) as { checkpoint: string };
      return JSON.stringify({ ...line, checkpoint: forger.sign(openNote(line.checkpoint).text) });
    });
    const result = await verify(forged, after);
    expect(result.err).toMatch(new RegExp(`decisions\\.log\\.1:${i + 1}: origin \\S+: the checkpoint is signed by no key given with --keys`));
  });

  it("two origins' logs spliced: the first line of the other chain is named", async () => {
    const cutAt = where(before, (l) => l.seq === 3);
    const from = where(after, (l) => isRecord(l) && l.seq === 1);
    const result = await verify(before.slice(0, cutAt), after.slice(from));
    expect(result.err).toMatch(/decisions\.log:1: origin \S+, seq 1: this origin's genesis line was not seen/);
  });

  it('the rotated file deleted (retention): the rest verifies only with --from-checkpoint and --keys, which say where it begins', async () => {
    const alone = mkdtempSync(join(dir, 'window-'));
    writeFileSync(join(alone, 'decisions.log'), `${after.join('\n')}\n`);
    const current = join(alone, 'decisions.log');
    expect((await run('audit', 'verify', '--keys', keysFile, current)).code).toBe(1);
    expect(await run('audit', 'verify', '--from-checkpoint', current)).toMatchObject({ code: 2, err: expect.stringMatching(/--from-checkpoint needs --keys/) });
    const result = await run('audit', 'verify', '--keys', keysFile, '--from-checkpoint', current);
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toMatch(
      /: \d+ records, \d+ checkpoints, continued by toolgate\/\S+; begins at seq [67], without its genesis line \(records before it are not in the input, and not verified\); vouched for by the checkpoint of \d+ records signed at /,
    );
    expect(result.out).toMatch(/--from-checkpoint: 1 origin\(s\) verified from the middle, NOT from their start/);
    expect(result.out).toMatch(/intact$/);
    // A record of the window deleted still shows.
    const i = where(after, (l) => isRecord(l) && l.seq === 7);
    writeFileSync(current, `${after.filter((_, j) => j !== i).join('\n')}\n`);
    expect((await run('audit', 'verify', '--keys', keysFile, '--from-checkpoint', current)).code).toBe(1);
  });
});
