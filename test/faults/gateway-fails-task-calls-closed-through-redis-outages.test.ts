import * as grpc from '@grpc/grpc-js';
import { sleep, waitUntil } from '../integration/support/workload-fixtures';
import { describeWithRedis } from '../integration/support/redis-server';
import { FaultDeployment, LOADERS, stopLoad, type Load } from './support/fault-deployment';
import { sized, timeoutFor } from './support/fault-settings';
import { ms, reportFigures } from './support/figures';
import { RedisProcess } from './support/redis-process';

/** How long Redis stays frozen, then killed, in each round. Frozen longer than the gateway's 2 s command timeout. */
const FROZEN_MS = sized(3500, 6000);
const DOWN_MS = sized(3000, 5000);
/** From a fault's start, how long task calls may still be in flight or succeed: the command timeout (2 s), or one reconnection attempt (≤ 1 s). */
const SETTLE_MS = 2500;
/** The first refusal must come within this of a fault's start (measured: ~2 s frozen, ~0.1 s killed). */
const FAIL_CLOSED_BOUND_MS = 5000;
const ROUNDS = sized(1, 5);
const TASK_RATE = 20;
/** Recovery must come within this of Redis answering again (measured: well under a second; ioredis retries at most 1 s apart). */
const RECOVERY_BOUND_MS = 5000;

describeWithRedis('fault: Redis frozen (SIGSTOP) and killed under load', () => {
  let redis: RedisProcess;
  let d: FaultDeployment;
  beforeAll(async () => {
    redis = new RedisProcess();
    await redis.start();
    d = await FaultDeployment.start({ extraConfig: `state:\n  redis:\n    url: ${redis.url}\n` });
  }, 120_000);
  afterAll(async () => {
    await d?.close();
    await redis?.close();
  }, 60_000);

  /** The first moment after `t` from which every task call succeeded, or undefined. */
  function recoveredAt(load: Load, t: number): number | undefined {
    const first = load.outcomes.firstAfter(t, grpc.status.OK);
    const lastBad = load.outcomes.lastOtherThan(grpc.status.OK);
    return first !== undefined && (lastBad === undefined || lastBad < first) ? first : undefined;
  }

  it(
    `fails task calls closed (UNAVAILABLE) while Redis is frozen or down, keeps calls without a task going, and recovers when it is back (${ROUNDS} round(s))`,
    async () => {
      const agent = await d.agent(`${LOADERS}tasked`);
      const task = await d.beginTask(agent);
      // While Redis is frozen each task call waits up to the 2 s command timeout, holding one of its caller's
      // slots (limits.perCaller.maxConcurrentCalls, 64): at 20 calls/s the agent stays below the cap. Calls
      // without a task come from another agent, whose slots a stuck Redis does not touch.
      const taskCalls = d.load(d.client(agent), { kind: 'unary', rate: TASK_RATE, taskToken: task.token });
      const other = await d.agent(`${LOADERS}untasked`);
      const plainCalls = d.load(d.client(other), { kind: 'unary', rate: 50 });
      const plainStream = d.load(d.client(other), { kind: 'stream', rate: 20, streams: 2 });
      const recoveries = { afterThaw: [] as number[], afterRestart: [] as number[] };
      /** From each fault's start to the first task call refused. */
      const failClosed = { frozen: [] as number[], killed: [] as number[] };
      const during: Array<Record<string, number>> = [];
      const t0 = performance.now();
      try {
        await waitUntil(() => (taskCalls.outcomes.byCode().OK ?? 0) >= 20, 10_000);
        for (let round = 0; round < ROUNDS; round++) {
          // Frozen: the socket accepts, nothing answers; the gateway's command timeout (2 s) ends each task call.
          const frozenAt = performance.now();
          redis.freeze();
          await sleep(FROZEN_MS);
          during.push(taskCalls.outcomes.byCode(frozenAt + SETTLE_MS, performance.now()));
          failClosed.frozen.push(taskCalls.outcomes.firstAfter(frozenAt, grpc.status.UNAVAILABLE)! - frozenAt);
          const thawedAt = performance.now();
          redis.thaw();
          await waitUntil(() => recoveredAt(taskCalls, thawedAt) !== undefined && taskCalls.outcomes.countAfter(recoveredAt(taskCalls, thawedAt)!) >= 20, 30_000);
          recoveries.afterThaw.push(recoveredAt(taskCalls, thawedAt)! - thawedAt);

          // Killed: refused at once; started again on the same socket, with its data (AOF), the task comes back.
          const killedAt = performance.now();
          await redis.kill();
          await sleep(DOWN_MS);
          during.push(taskCalls.outcomes.byCode(killedAt + SETTLE_MS, performance.now()));
          failClosed.killed.push(taskCalls.outcomes.firstAfter(killedAt, grpc.status.UNAVAILABLE)! - killedAt);
          await redis.start();
          const restartedAt = performance.now();
          await waitUntil(() => recoveredAt(taskCalls, restartedAt) !== undefined && taskCalls.outcomes.countAfter(recoveredAt(taskCalls, restartedAt)!) >= 20, 30_000);
          recoveries.afterRestart.push(recoveredAt(taskCalls, restartedAt)! - restartedAt);
        }
      } finally {
        await stopLoad(taskCalls, plainCalls, plainStream);
      }

      const unavailableLogged = d.decisions().filter((l) => l.task === task.taskId && l.decision === 'deny');
      reportFigures('redis', {
        seconds: Math.round((performance.now() - t0) / 1000),
        rounds: ROUNDS,
        calls: taskCalls.outcomes.calls + plainCalls.outcomes.calls + plainStream.outcomes.calls,
        taskCalls: taskCalls.outcomes.byCode(),
        plainCalls: plainCalls.outcomes.byCode(),
        plainStreamMessages: plainStream.outcomes.byCode(),
        firstRefusalAfterFreezeMs: failClosed.frozen.map(ms),
        firstRefusalAfterKillMs: failClosed.killed.map(ms),
        recoveryAfterThawMs: recoveries.afterThaw.map(ms),
        recoveryAfterRestartMs: recoveries.afterRestart.map(ms),
      });
      // Task calls: OK or UNAVAILABLE, nothing else (fail closed, and a status a client may retry).
      expect(Object.keys(taskCalls.outcomes.byCode()).sort()).toEqual(['OK', 'UNAVAILABLE']);
      // Once the command timeout has passed in a fault, every task call is refused.
      for (const window of during) expect(Object.keys(window)).toEqual(['UNAVAILABLE']);
      for (const t of [...failClosed.frozen, ...failClosed.killed]) expect(t).toBeLessThan(FAIL_CLOSED_BOUND_MS);
      expect(unavailableLogged.length).toBe(taskCalls.outcomes.byCode().UNAVAILABLE);
      expect(unavailableLogged.every((l) => typeof l.reason === 'string' && l.reason.startsWith('task store unavailable: '))).toBe(true);
      // Calls without a task never needed Redis.
      expect(plainCalls.outcomes.byCode()).toEqual({ OK: plainCalls.outcomes.calls });
      expect(plainStream.outcomes.byCode()).toEqual({ OK: plainStream.outcomes.calls });
      expect(plainStream.outcomes.streamsByCode()).toEqual({ OK: 2 });
      for (const t of [...recoveries.afterThaw, ...recoveries.afterRestart]) expect(t).toBeLessThan(RECOVERY_BOUND_MS);
    },
    timeoutFor(ROUNDS * (FROZEN_MS + DOWN_MS + 4000)),
  );
});
