import { rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../integration/support/workload-fixtures';
import { FaultDeployment, LOADERS, OTHERS, stopLoad } from './support/fault-deployment';
import { sized, timeoutFor } from './support/fault-settings';
import { reportFigures } from './support/figures';

/** Each kind of broken push is made this many times. */
const ROUNDS = sized(1, 5);
/** How long each broken set stays on disk, under load, before the good files come back. */
const BROKEN_MS = sized(800, 1500);

/** Valid on their own: the set they belong to would let every denied call through, or deny every allowed one. */
const PERMIT_ALL = '@id("zz-open-everything")\npermit (principal, action, resource);\n';
const FORBID_ALL = '@id("zz-close-everything")\nforbid (principal, action, resource);\n';

/**
 * The six kinds of broken policy change the gateway refuses as a whole (src/policy/policy-set.ts):
 * each puts a set on disk whose valid part, applied alone, would change decisions. `push`
 * breaks the folder, `err` is what the refusal must name. (An empty folder is not among them:
 * it is a valid set that denies everything, and is applied.)
 */
const BROKEN_PUSHES: Array<{ kind: string; push: (dir: string, good: Record<string, string>) => void; err: RegExp }> = [
  {
    kind: 'syntax error',
    push: (dir) => writeFileSync(join(dir, 'zz-broken.cedar'), `${PERMIT_ALL}\n@id("half-written")\nforbid (principal, action == Action::"bench.v1.Echo/Unary" resource`),
    err: /policy files cannot be loaded[\s\S]*zz-broken\.cedar:5:/,
  },
  {
    kind: 'unknown entity type',
    push: (dir) => writeFileSync(join(dir, 'zz-robots.cedar'), `${FORBID_ALL}\n@id("robots")\npermit (principal is Robot, action, resource);\n`),
    err: /fail validation against schema\.cedarschema[\s\S]*robots/,
  },
  {
    kind: 'schema violation (an attribute no request carries)',
    push: (dir) =>
      writeFileSync(
        join(dir, 'zz-typo.cedar'),
        `${PERMIT_ALL}\n@id("typo")\npermit (principal, action == Action::"bench.v1.Echo/Unary", resource == Tool::"echo") when { context.request.tagg == "ok" };\n`,
      ),
    err: /fail validation against schema\.cedarschema[\s\S]*typo/,
  },
  {
    kind: 'unreadable file (a link to nothing)',
    push: (dir) => {
      writeFileSync(join(dir, 'zz-open.cedar'), PERMIT_ALL);
      symlinkSync(join(dir, 'no-such-file.cedar'), join(dir, 'zz-gone.cedar'));
    },
    err: /cannot read .*zz-gone\.cedar/,
  },
  {
    kind: 'duplicate @id',
    push: (dir) => writeFileSync(join(dir, 'zz-dup.cedar'), '@id("loaders-use-echo")\nforbid (principal, action, resource);\n'),
    err: /duplicate policy ids[\s\S]*"loaders-use-echo" in echo\.cedar:1 and zz-dup\.cedar:1/,
  },
  {
    kind: 'schema that does not parse',
    push: (dir, good) => {
      writeFileSync(join(dir, 'zz-open.cedar'), PERMIT_ALL);
      const schema = good['schema.cedarschema']!;
      // A declaration cut off mid-way (half of the file alone may still parse, as fewer declarations).
      writeFileSync(join(dir, 'schema.cedarschema'), `${schema}\nentity Unfinished in [\n`);
    },
    err: /schema schema\.cedarschema does not parse/,
  },
];

describe('fault: broken policy pushes under load', () => {
  let d: FaultDeployment;
  beforeAll(async () => {
    d = await FaultDeployment.start();
  }, 120_000);
  afterAll(() => d?.close(), 60_000);

  /** Puts the good set back exactly (removing whatever a push added). */
  function restoreGood(good: Record<string, string>): void {
    for (const name of ['zz-broken.cedar', 'zz-robots.cedar', 'zz-typo.cedar', 'zz-open.cedar', 'zz-gone.cedar', 'zz-dup.cedar']) rmSync(join(d.policyDir, name), { force: true });
    for (const [name, text] of Object.entries(good)) writeFileSync(join(d.policyDir, name), text);
  }

  it(
    `refuses ${BROKEN_PUSHES.length} kinds of broken set (${ROUNDS}× each) while calls run, and never decides a call by anything but the last good set`,
    async () => {
      const good = d.goodFiles();
      const goodSet = d.gateway.log.find((l) => l.msg === 'toolgate is serving')!.policySet as string;
      const loader = await d.agent(`${LOADERS}steady`);
      const other = await d.agent(`${OTHERS}nosy`);
      // What the good set decides: loaders' "ok" calls are allowed; their "secret" calls and anything of others are denied.
      const allowedUnary = d.load(d.client(loader), { kind: 'unary', rate: 60 });
      const allowedStream = d.load(d.client(loader), { kind: 'stream', rate: 20, streams: 2 });
      const deniedByPayload = d.load(d.client(loader), { kind: 'unary', rate: 20, tag: 'secret' });
      const deniedByIdentity = d.load(d.client(other), { kind: 'unary', rate: 20 });
      const refusals: Array<Record<string, unknown>> = [];
      const t0 = performance.now();
      try {
        await sleep(500);
        for (let round = 0; round < ROUNDS; round++) {
          for (const broken of BROKEN_PUSHES) {
            const at = d.gateway.log.length;
            broken.push(d.policyDir, good);
            const refused = await d.gateway.nextLine(/^reload/, at);
            refusals.push({ kind: broken.kind, ...refused });
            await sleep(BROKEN_MS);
            const back = d.gateway.log.length;
            restoreGood(good);
            await d.gateway.nextLine(/^reloaded/, back);
          }
        }
        await sleep(300);
      } finally {
        await stopLoad(allowedUnary, allowedStream, deniedByPayload, deniedByIdentity);
      }

      const metrics = await d.gateway.metrics();
      const decisions = d.decisions();
      const calls = [allowedUnary, allowedStream, deniedByPayload, deniedByIdentity].reduce((n, l) => n + l.outcomes.calls, 0);
      const wrong =
        allowedUnary.outcomes.calls -
        (allowedUnary.outcomes.byCode().OK ?? 0) +
        (allowedStream.outcomes.calls - (allowedStream.outcomes.byCode().OK ?? 0)) +
        (deniedByPayload.outcomes.calls - (deniedByPayload.outcomes.byCode().PERMISSION_DENIED ?? 0)) +
        (deniedByIdentity.outcomes.calls - (deniedByIdentity.outcomes.byCode().PERMISSION_DENIED ?? 0));
      reportFigures('broken-policy', {
        seconds: Math.round((performance.now() - t0) / 1000),
        pushes: refusals.length,
        calls,
        wrongAnswers: wrong,
        decisionsLogged: decisions.length,
        decidedByAnotherSet: decisions.filter((l) => l.policySet !== goodSet).length,
        reloadFailures: metrics.get('toolgate_policy_reload_total{result="failure"}'),
        allowed: { unary: allowedUnary.outcomes.byCode(), streamMessages: allowedStream.outcomes.byCode(), streamEnds: allowedStream.outcomes.streamsByCode() },
        denied: { byPayload: deniedByPayload.outcomes.byCode(), byIdentity: deniedByIdentity.outcomes.byCode() },
      });

      for (const [i, refused] of refusals.entries()) {
        const broken = BROKEN_PUSHES[i % BROKEN_PUSHES.length]!;
        expect({ kind: refused.kind, msg: refused.msg, policySet: refused.policySet }).toEqual({
          kind: broken.kind,
          msg: 'reload refused: the last good config and policies keep serving',
          policySet: goodSet,
        });
        expect(refused.err).toMatch(broken.err);
      }
      expect(allowedUnary.outcomes.byCode()).toEqual({ OK: allowedUnary.outcomes.calls });
      expect(allowedStream.outcomes.byCode()).toEqual({ OK: allowedStream.outcomes.calls });
      expect(allowedStream.outcomes.streamsByCode()).toEqual({ OK: 2 });
      expect(deniedByPayload.outcomes.byCode()).toEqual({ PERMISSION_DENIED: deniedByPayload.outcomes.calls });
      expect(deniedByIdentity.outcomes.byCode()).toEqual({ PERMISSION_DENIED: deniedByIdentity.outcomes.calls });
      expect(allowedUnary.outcomes.calls).toBeGreaterThan(100);
      // Every decision the gateway logged was taken by the good set, which is still the one serving.
      expect(decisions.length).toBeGreaterThanOrEqual(allowedUnary.outcomes.calls + deniedByPayload.outcomes.calls + deniedByIdentity.outcomes.calls);
      expect(decisions.filter((l) => l.policySet !== goodSet)).toEqual([]);
      expect(metrics.get('toolgate_policy_reload_total{result="failure"}')).toBe(BROKEN_PUSHES.length * ROUNDS);
      expect(metrics.get('toolgate_policy_last_reload_successful')).toBe(1);
      expect(metrics.get(`toolgate_policy_set_info{policy_set="${goodSet}",shadow_set=""}`)).toBe(1);
    },
    timeoutFor(ROUNDS * BROKEN_PUSHES.length * (BROKEN_MS + 1000)),
  );
});
