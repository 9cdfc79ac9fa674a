// Decision time against the policy count, with and without the scope index
// (src/policy/policy-index.ts). Run from the repository root:
//
//   npm run build && node bench/policy-scale.bench.js [sizes...]     (default: 10 1000 10000)
//
// Each set is generated like a large deployment's: per-agent grants on single methods or
// whole services, group grants and guardrails (`principal in AgentGroup::"…"`), grants to
// unmapped workloads (`principal is Workload`), a few open-scope guardrails, and `when`
// conditions on attributes and context. Callers are agents in 0–3 groups and workloads, each
// calling a handful of methods, as tool-using agents do. Decisions are uncached (cacheSize 0):
// every one reaches Cedar. Slices are built during the warm-up; the first pass over the
// callers (which builds them) is reported on its own. Prints a markdown table of p50 and p99
// in microseconds, and checks that indexed and unindexed engines decide alike.
'use strict';
const { PolicyEngine, PolicySet } = require('../dist/policy');

const SIZES = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [10, 1_000, 10_000];

/** A small deterministic PRNG (mulberry32), so that every run measures the same sets. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The deployment a set of `n` policies governs: it grows with n, as real ones do. */
function world(n) {
  const services = Array.from({ length: Math.max(4, Math.ceil(n / 400)) }, (_, s) => `tools.svc${s}.v1.Service${s}`);
  const actions = services.flatMap((s) => Array.from({ length: 6 }, (_, m) => `${s}/Method${m}`));
  return {
    services,
    actions,
    agents: Math.max(5, Math.ceil(n / 5)),
    groups: Math.max(3, Math.ceil(n / 50)),
    workloads: Math.max(2, Math.ceil(n / 200)),
    tools: 8,
  };
}

const OPEN_GUARDRAILS = [
  'forbid (principal, action, resource) when { principal has tier && principal.tier == "sandbox" && context.peer.authn == "jwt-svid" };',
  'forbid (principal is Agent, action, resource) when { context.metadata has "x-task-id" && context.metadata["x-task-id"] like "blocked-*" };',
];

function generatePolicies(n, w) {
  const rnd = random(n);
  const pick = (list) => list[Math.floor(rnd() * list.length)];
  const policies = OPEN_GUARDRAILS.slice(0, Math.min(2, n));
  while (policies.length < n) {
    const r = rnd();
    const service = pick(w.services);
    const methodScope = rnd() < 0.7 ? `action == Action::"${pick(w.actions)}"` : `action in Action::"${service}"`;
    const tool = `Tool::"tool${Math.floor(rnd() * w.tools)}"`;
    if (r < 0.6) {
      policies.push(`permit (principal == Agent::"agent${Math.floor(rnd() * w.agents)}", ${methodScope}, resource == ${tool}) when { context.peer.authn == "x509-svid" };`);
    } else if (r < 0.8) {
      const other = pick(w.actions);
      policies.push(
        `permit (principal in AgentGroup::"group${Math.floor(rnd() * w.groups)}", action in [Action::"${pick(w.actions)}", Action::"${other}"], resource) when { principal has tier && principal.tier != "sandbox" };`,
      );
    } else if (r < 0.9) {
      policies.push(`forbid (principal in AgentGroup::"group${Math.floor(rnd() * w.groups)}", ${methodScope}, resource == ${tool}) unless { context.peer.authn == "x509-svid" };`);
    } else {
      policies.push(`permit (principal is Workload, ${methodScope}, resource) when { principal.path like "/tools/w${Math.floor(rnd() * w.workloads)}/*" };`);
    }
  }
  return policies.map((p, i) => `@id("p${i}")\n${p}`).join('\n\n');
}

/** Callers, each with the few methods it calls; requests cycle through them. */
function generateRequests(n, w, count) {
  const rnd = random(n + 1);
  const pick = (list) => list[Math.floor(rnd() * list.length)];
  const callers = [];
  for (let c = 0; c < Math.min(300, w.agents + w.workloads); c++) {
    let principal;
    if (rnd() < 0.9) {
      const id = `agent${Math.floor(rnd() * w.agents)}`;
      const groups = Array.from({ length: Math.floor(rnd() * 4) }, () => `group${Math.floor(rnd() * w.groups)}`);
      const attributes = { tier: rnd() < 0.1 ? 'sandbox' : 'standard', team: 'research' };
      principal = { type: 'Agent', id, attrs: { ...attributes, attributes, spiffeId: `spiffe://example.org/agents/${id}`, trustDomain: 'example.org' }, groups };
    } else {
      const path = `/tools/w${Math.floor(rnd() * w.workloads)}/indexer`;
      principal = { type: 'Workload', id: `spiffe://example.org${path}`, attrs: { spiffeId: `spiffe://example.org${path}`, trustDomain: 'example.org', path }, groups: [] };
    }
    callers.push({ principal: Object.freeze(principal), actions: Array.from({ length: 6 }, () => pick(w.actions)) });
  }
  return Array.from({ length: count }, (_, i) => {
    const caller = callers[i % callers.length];
    return {
      principal: caller.principal,
      action: pick(caller.actions),
      resource: `tool${Math.floor(rnd() * w.tools)}`,
      context: {
        peer: { spiffeId: caller.principal.attrs.spiffeId, trustDomain: 'example.org', authn: rnd() < 0.8 ? 'x509-svid' : 'jwt-svid' },
        metadata: { 'x-task-id': rnd() < 0.05 ? 'blocked-1' : `task-${i}` },
      },
    };
  });
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

/** Decides each request, pushing the decision and the microseconds it took. */
function timeEach(engine, requests, decisions, times) {
  for (const request of requests) {
    const start = process.hrtime.bigint();
    decisions.push(engine.authorize(request));
    times.push(Number(process.hrtime.bigint() - start) / 1000);
  }
}

function outcome(d) {
  return JSON.stringify([d.allow, d.policies, d.errors]);
}

console.log(`node ${process.version}; uncached decisions (cacheSize 0), µs`);
const rows = [];
for (const n of SIZES) {
  const w = world(n);
  let started = performance.now();
  const set = PolicySet.fromText({ 'bench.cedar': generatePolicies(n, w) });
  const loadMs = performance.now() - started;
  // Unindexed decisions at 10 000 policies take ~30 ms each: fewer samples there.
  const samples = n >= 5_000 ? 300 : 3_000;
  const requests = generateRequests(n, w, 20_000);
  const plain = new PolicyEngine(set, { cacheSize: 0, index: false });
  const indexed = new PolicyEngine(set, { cacheSize: 0, index: true });

  // Warm-up: wasm runs slowly until V8 tiers it up.
  for (const r of requests.slice(0, Math.min(samples, 1_000))) plain.authorize(r);
  started = performance.now();
  const firstPass = requests.slice(0, 2_000).map((r) => indexed.authorize(r));
  const firstPassMs = performance.now() - started;

  // Rounds interleave the two engines, so that a noisy neighbour slows both alike.
  const unindexed = { decisions: [], times: [] };
  const sliced = { decisions: [], times: [] };
  const ROUNDS = 5;
  for (let round = 0; round < ROUNDS; round++) {
    const cut = (count) => requests.slice((round * count) / ROUNDS, ((round + 1) * count) / ROUNDS);
    timeEach(plain, cut(samples), unindexed.decisions, unindexed.times);
    timeEach(indexed, cut(requests.length), sliced.decisions, sliced.times);
  }
  const mismatches = unindexed.decisions.filter((d, i) => outcome(d) !== outcome(sliced.decisions[i])).length;
  const allows = firstPass.filter((d) => d.allow).length;
  const sort = (times) => times.sort((a, b) => a - b);
  rows.push({ n, loadMs, firstPassMs, slices: indexed.indexStats, plain: sort(unindexed.times), indexed: sort(sliced.times), mismatches, allows, checked: samples });
}

const base = rows.find((r) => r.n === Math.min(...SIZES));
console.log(
  `\n| policies | unindexed p50 | unindexed p99 | indexed p50 | indexed p99 | indexed p50 ÷ unindexed p50 at ${base.n} | set load (ms) | first 2 000 indexed calls, building slices (ms) | slices (policies in them) |`,
);
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  const f = (x) => x.toFixed(1);
  const ratio = percentile(r.indexed, 50) / percentile(base.plain, 50);
  console.log(
    `| ${r.n.toLocaleString('en')} | ${f(percentile(r.plain, 50))} | ${f(percentile(r.plain, 99))} | ${f(percentile(r.indexed, 50))} | ${f(percentile(r.indexed, 99))} | ${ratio.toFixed(2)}× | ${r.loadMs.toFixed(0)} | ${r.firstPassMs.toFixed(0)} | ${r.slices.slices} (${r.slices.policies}) |`,
  );
}
console.log('');
for (const r of rows) {
  console.log(
    `${r.n} policies: ${r.allows} of the first 2 000 calls allowed; ${r.checked} decisions compared, ${r.mismatches} differ between indexed and unindexed; ` +
      `${r.slices.overBudget} selections over the slice budget`,
  );
}
if (rows.some((r) => r.mismatches > 0)) process.exitCode = 1;
