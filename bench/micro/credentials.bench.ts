/*
 * Per-operation cost of the per-call credential and task checks the gateway runs on a
 * relayed call: minting the call token (and reusing one, issue 15), verifying the task token (cached and uncached), and
 * counting the call in the task store (memory, and a real redis-server on a Unix socket); and
 * a policy decision with and without an @approval permit in the set (issue 13: no cost for
 * calls no @approval policy applies to).
 *
 * Every operation is timed against a baseline in the same process and the same rounds
 * (operation and baseline alternate, round after round), so the results are differences
 * and ratios, not absolute claims about a machine. Numbers are µs per operation, the median
 * over rounds of wall-clock time ÷ operations (for the synchronous ones that is CPU time).
 *
 * Run alone: `npm run bench:build && node bench/dist/bench/micro/credentials.bench.js`
 * (prints a markdown table). `npm run bench` runs it after the relay phases and puts the
 * table in bench/RESULTS.md. Env: BENCH_MICRO_ROUNDS (default 9), BENCH_MICRO_ROUND_MS
 * (default 150, the target length of one round of one side).
 */
import type { Redis } from 'ioredis';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { mintCallToken, type CallTokenClaims } from '../../src/credentials/call-token';
import { CallTokenCache } from '../../src/credentials/call-token-cache';
import { PolicyEngine, PolicySet, type AuthorizationRequest, type Principal } from '../../src/policy';
import { connectRedis, closeRedis } from '../../src/state/redis-client';
import { MemoryTaskStore } from '../../src/tasks/memory-task-store';
import { RedisTaskStore } from '../../src/tasks/redis-task-store';
import { SigningKeys } from '../../src/tasks/signing-keys';
import { newTaskId, type Task } from '../../src/tasks/task';
import type { TaskStore } from '../../src/tasks/task-store';
import { mintTaskToken, verifyTaskToken } from '../../src/tasks/task-token';
import { TaskTokenVerifier } from '../../src/tasks/task-token-verifier';
import { CLIENT_ID, GATEWAY_ID, UPSTREAM_ID } from '../relay/deployment';
import { ECHO_SERVICE, UNARY_ACTION } from '../relay/echo-service';
import { procCpuMicros } from '../relay/phase-result';
import { redisServerAvailable, startDevRedisServer, type DevRedisServer } from '../../test/support/dev-redis-server';

export interface MicroRow {
  operation: string;
  baseline: string;
  /** Median over rounds, µs per operation (wall clock). */
  opMicros: number;
  baselineMicros: number;
  /** Every round's µs/op, operation and baseline, to show the noise. */
  opRounds: number[];
  baselineRounds: number[];
  /** This process's CPU per operation (user + system), pooled over rounds. */
  opCpuMicros: number;
  baselineCpuMicros: number;
  /** The redis-server's CPU per operation, pooled over rounds (Redis rows only). */
  serverCpuMicros?: number;
  baselineServerCpuMicros?: number;
  iterations: number;
}

export interface MicroReport {
  rounds: number;
  roundMs: number;
  node: string;
  rows: MicroRow[];
  notes: string[];
}

type Op = () => unknown;
type AsyncOp = () => Promise<unknown>;

interface Side {
  label: string;
  /** Runs `n` operations (one after the other, or `concurrency` chains of them). */
  run: (n: number) => Promise<void> | void;
}

const ROUNDS = Number(process.env.BENCH_MICRO_ROUNDS ?? 9);
const ROUND_MS = Number(process.env.BENCH_MICRO_ROUND_MS ?? 150);

function syncSide(label: string, op: Op): Side {
  return {
    label,
    run: (n) => {
      for (let i = 0; i < n; i++) op();
    },
  };
}

function asyncSide(label: string, op: AsyncOp, concurrency = 1): Side {
  return {
    label,
    run: async (n) => {
      const chain = async (count: number) => {
        for (let i = 0; i < count; i++) await op();
      };
      const per = Math.ceil(n / concurrency);
      await Promise.all(Array.from({ length: concurrency }, () => chain(per)));
    },
  };
}

/** How many operations make a round of about ROUND_MS, from a short trial. */
async function calibrate(side: Side): Promise<number> {
  let n = 16;
  for (;;) {
    const t0 = performance.now();
    await side.run(n);
    const ms = performance.now() - t0;
    if (ms > 30 || n > 1e7) return Math.max(32, Math.round((n * ROUND_MS) / Math.max(ms, 0.001)));
    n *= 4;
  }
}

async function measure(operation: Side, baseline: Side, serverPid?: number): Promise<MicroRow> {
  // Warm both (JIT, caches, connections), then size the rounds by the operation.
  await operation.run(64);
  await baseline.run(64);
  const n = await calibrate(operation);
  const opRounds: number[] = [];
  const baselineRounds: number[] = [];
  const cpu = { op: 0, base: 0, opServer: 0, baseServer: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which side goes first, so a drift in machine state hits both alike.
    const order: Array<[Side, number[], 'op' | 'base']> = [
      [operation, opRounds, 'op'],
      [baseline, baselineRounds, 'base'],
    ];
    if (r % 2 === 1) order.reverse();
    for (const [side, rounds, key] of order) {
      const s0 = serverPid === undefined ? 0 : procCpuMicros(serverPid);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await side.run(n);
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      rounds.push((ms * 1000) / n);
      cpu[key] += c.user + c.system;
      if (serverPid !== undefined) cpu[key === 'op' ? 'opServer' : 'baseServer'] += procCpuMicros(serverPid) - s0;
    }
  }
  const total = n * ROUNDS;
  return {
    operation: operation.label,
    baseline: baseline.label,
    opMicros: median(opRounds),
    baselineMicros: median(baselineRounds),
    opRounds,
    baselineRounds,
    opCpuMicros: cpu.op / total,
    baselineCpuMicros: cpu.base / total,
    ...(serverPid !== undefined && { serverCpuMicros: cpu.opServer / total, baselineServerCpuMicros: cpu.baseServer / total }),
    iterations: n,
  };
}

function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

function benchTask(): Task {
  const now = Date.now();
  return {
    id: newTaskId(),
    ownerSpiffeId: CLIENT_ID,
    intent: 'relay bench',
    tools: [ECHO_SERVICE],
    createdAt: new Date(now),
    expiresAt: new Date(now + 3000_000),
    // A concurrency cap, so that every consume takes a lease to release: the dearer path.
    budget: { calls: 1_000_000_000, maxConcurrent: 1_000_000 },
  };
}

/** consume + release, as the gateway does for each task call (release is fire-and-forget there, awaited here). */
function consumeRelease(store: TaskStore, id: string): AsyncOp {
  return async () => {
    const result = await store.consume(id, UNARY_ACTION, new Date());
    if (!result.ok) throw new Error(`consume refused: ${result.reason}`);
    if (result.lease !== undefined) await store.release(id, result.lease);
  };
}

export async function runCredentialsMicroBench(log: (line: string) => void = () => {}): Promise<MicroReport> {
  const rows: MicroRow[] = [];
  const notes: string[] = [];
  const keys = await SigningKeys.generate(Date.now);
  const task = benchTask();
  const taskToken = await mintTaskToken(keys, task);

  // 1. The call token, as the relay mints it for a task call.
  const claims: CallTokenClaims = {
    issuer: GATEWAY_ID,
    subject: CLIENT_ID,
    audience: UPSTREAM_ID,
    scope: UNARY_ACTION,
    taskId: task.id,
    taskExpiresAt: task.expiresAt,
    agent: 'load-1',
  };
  const unsignedHeader = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'toolgate-call+jwt', kid: keys.currentKid })).toString('base64url');
  const unsigned = () => {
    const iat = Math.floor(Date.now() / 1000);
    const payload = {
      iss: claims.issuer,
      sub: claims.subject,
      aud: claims.audience,
      act: { sub: claims.issuer },
      scope: claims.scope,
      jti: 'AAAAAAAAAAAAAAAAAAAAAA',
      iat,
      exp: iat + 60,
      task_id: claims.taskId,
      agent: claims.agent,
    };
    return `${unsignedHeader}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  };
  rows.push(
    await measure(
      syncSide('mintCallToken (ES256 via node:crypto, sync)', () => mintCallToken(keys, claims)),
      syncSide('the same claims as an unsigned JWT (JSON.stringify + base64url)', unsigned),
    ),
  );
  log('  mintCallToken done');

  // 1b. Issue 15: the call token reused for the calls with the same claims (upstreamTokenReuseSeconds,
  // default 5 s): what a call pays on a hit (the cache key and lookup), against a signature per call.
  const reused = new CallTokenCache(keys, 5);
  rows.push(
    await measure(
      syncSide('call token with reuse (CallTokenCache, cache hit)', () => reused.token(claims)),
      syncSide('mintCallToken (a signature per call: upstreamTokenReuseSeconds 0)', () => mintCallToken(keys, claims)),
    ),
  );
  log('  call token reuse done');

  // 2. Task-token verification: cached (every call of a task after its first), and uncached.
  const verifier = new TaskTokenVerifier(keys, Date.now);
  await verifier.verify(taskToken, CLIENT_ID);
  const resolved = Promise.resolve(task);
  const asyncNoop = asyncSide('async no-op (await of a resolved promise)', () => resolved);
  rows.push(
    await measure(
      asyncSide('TaskTokenVerifier.verify, cached token', () => verifier.verify(taskToken, CLIENT_ID)),
      asyncNoop,
    ),
  );
  log('  cached verify done');
  rows.push(
    await measure(
      asyncSide('verifyTaskToken, uncached (jose jwtVerify, WebCrypto)', () => verifyTaskToken(keys, taskToken, CLIENT_ID, Date.now)),
      asyncNoop,
    ),
  );
  log('  uncached verify done');
  // What the signature check alone costs with node:crypto, synchronously (a reference for the uncached path).
  const [h, p, sig] = taskToken.split('.') as [string, string, string];
  const publicKey = createPublicKey({ key: { ...keys.jwks().keys[0]! }, format: 'jwk' });
  const input = Buffer.from(`${h}.${p}`);
  const signature = Buffer.from(sig, 'base64url');
  rows.push(
    await measure(
      syncSide('ES256 verify of the same token, node:crypto (sync)', () => {
        if (!cryptoVerify('sha256', input, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)) throw new Error('bad signature');
      }),
      syncSide("decoding the token's payload (base64url + JSON.parse)", () => JSON.parse(Buffer.from(p, 'base64url').toString())),
    ),
  );
  log('  node:crypto verify done');

  // 2b. Issue 13's promise: policies without @approval cost nothing more. The same call, allowed
  // by a plain permit, decided by an engine whose set also holds an @approval permit (for
  // another method) against one whose set holds none: cached (the decision cache's hit path)
  // and evaluated (cache off, every call through cedar-wasm and the outcome's classification).
  const plainPolicies = `@id("read") permit (principal in AgentGroup::"load", action == Action::"${UNARY_ACTION}", resource == Tool::"echo");`;
  const approvalPolicies = `${plainPolicies}
    @id("writes-need-approval") @approval("owners")
    permit (principal in AgentGroup::"load", action == Action::"${UNARY_ACTION}-write", resource == Tool::"echo");`;
  const principal: Principal = { type: 'Agent', id: 'load-1', attrs: { spiffeId: CLIENT_ID, trustDomain: 'example.org', attributes: {} }, groups: ['load'] };
  const call: AuthorizationRequest = {
    principal,
    action: UNARY_ACTION,
    resource: 'echo',
    context: { peer: { spiffeId: CLIENT_ID, trustDomain: 'example.org', authn: 'x509-svid' }, metadata: {} },
  };
  for (const [label, cacheSize] of [
    ['cached', undefined],
    ['evaluated', 0],
  ] as const) {
    const withApproval = new PolicyEngine(PolicySet.fromText({ 'p.cedar': approvalPolicies }), cacheSize === undefined ? {} : { cacheSize });
    const without = new PolicyEngine(PolicySet.fromText({ 'p.cedar': plainPolicies }), cacheSize === undefined ? {} : { cacheSize });
    if (!withApproval.authorize(call).allow || !without.authorize(call).allow) throw new Error('the bench call is not allowed');
    rows.push(
      await measure(
        syncSide(`PolicyEngine.authorize, ${label}: a set with an @approval permit (for another method)`, () => withApproval.authorize(call)),
        syncSide(`PolicyEngine.authorize, ${label}: the same set without it`, () => without.authorize(call)),
      ),
    );
  }
  log('  @approval cost done');

  // 3. The memory task store.
  const memory = new MemoryTaskStore({ maxTtlSeconds: 3600 });
  await memory.begin(task);
  rows.push(
    await measure(
      asyncSide('MemoryTaskStore consume + release', consumeRelease(memory, task.id)),
      asyncSide('two async no-ops', async () => (await resolved, await resolved)),
    ),
  );
  log('  memory store done');

  // 4. The Redis task store on a real redis-server (Unix socket), one at a time and 32 in flight.
  let server: DevRedisServer | undefined;
  let ping: Redis | undefined;
  let redisStore: RedisTaskStore | undefined;
  try {
    if (!redisServerAvailable()) {
      notes.push('redis-server is not on PATH: the RedisTaskStore rows were skipped.');
    } else {
      server = await startDevRedisServer();
      redisStore = await RedisTaskStore.connect({ url: server.url, maxTtlSeconds: 3600, keyPrefix: 'micro:' });
      ping = await connectRedis(server.url);
      const client = ping;
      await redisStore.begin(task);
      const twoPings = async () => {
        await client.ping();
        await client.ping();
      };
      rows.push(
        await measure(
          asyncSide('RedisTaskStore consume + release, one at a time', consumeRelease(redisStore, task.id)),
          asyncSide('two PINGs, one at a time (same socket kind)', twoPings),
          server.pid,
        ),
      );
      log('  redis store (sequential) done');
      rows.push(
        await measure(
          asyncSide('RedisTaskStore consume + release, 32 in flight', consumeRelease(redisStore, task.id), 32),
          asyncSide('two PINGs, 32 in flight', twoPings, 32),
          server.pid,
        ),
      );
      log('  redis store (32 in flight) done');
    }
  } finally {
    await redisStore?.close();
    if (ping) await closeRedis(ping);
    await server?.stop();
    await memory.close();
  }
  return { rounds: ROUNDS, roundMs: ROUND_MS, node: process.version, rows, notes };
}

const fmt = (n: number | undefined, digits = 1): string => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits));

export function microMarkdown(report: MicroReport): string {
  const header = [
    'operation',
    'µs/op',
    'baseline',
    'baseline µs/op',
    'op − baseline µs',
    'op ÷ baseline',
    'µs/op over rounds (op)',
    'client CPU µs/op (op / baseline)',
    'redis-server CPU µs/op (op / baseline)',
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 || i === 2 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of report.rows) {
    const spread = `${fmt(Math.min(...r.opRounds))}–${fmt(Math.max(...r.opRounds))}`;
    lines.push(
      `| ${[
        r.operation,
        fmt(r.opMicros),
        r.baseline,
        fmt(r.baselineMicros, 2),
        fmt(r.opMicros - r.baselineMicros),
        r.baselineMicros > 0 ? `${(r.opMicros / r.baselineMicros).toFixed(1)}×` : '–',
        spread,
        `${fmt(r.opCpuMicros)} / ${fmt(r.baselineCpuMicros, 2)}`,
        r.serverCpuMicros === undefined ? '–' : `${fmt(r.serverCpuMicros)} / ${fmt(r.baselineServerCpuMicros)}`,
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n') + (report.notes.length ? `\n\n${report.notes.map((n) => `- ${n}`).join('\n')}` : '');
}

if (require.main === module) {
  runCredentialsMicroBench((line) => process.stderr.write(`${line}\n`)).then(
    (report) => {
      if (process.send) process.send({ type: 'micro', report }, () => process.exit(0));
      else {
        console.log(microMarkdown(report));
        process.exit(0);
      }
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
