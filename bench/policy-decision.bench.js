// Cost of one policy decision at 20 policies: cedar-wasm called the plain way, the engine
// uncached, a cache miss, and a cache hit. Run from the repository root:
//
//   npm run build && node bench/policy-decision.bench.js
//
// Prints microseconds per decision (median of 7 rounds, after a warm-up: wasm starts at
// ~1.5 ms a decision until V8 tiers it up).
'use strict';
const { PolicyEngine, PolicySet } = require('../dist/policy');
// After dist/policy, so that the V8 guard is in force before cedar-wasm loads.
const { statefulIsAuthorized } = require('../dist/policy/cedar');

const SERVICES = ['tools.files.v1.Files', 'tools.search.v1.Search', 'tools.shell.v1.Shell', 'tools.db.v1.Db'];
const policies = [];
for (let i = 0; i < 18; i++) {
  const service = SERVICES[i % SERVICES.length];
  policies.push(
    `@id("p${i}")\npermit (principal in AgentGroup::"group${i}", action in Action::"${service}", resource == Tool::"tool${i % 5}")\n` +
      `when { context.peer.authn == "x509-svid" && context.metadata has "x-task-id" };`,
  );
}
policies.push('@id("sandbox")\nforbid (principal is Agent, action in Action::"tools.shell.v1.Shell", resource) when { principal has tier && principal.tier == "sandbox" };');
policies.push('@id("workloads")\nforbid (principal is Workload, action, resource) when { context.peer.authn == "jwt-svid" };');
const set = PolicySet.fromText({ 'bench.cedar': policies.join('\n\n') });

const attributes = { team: 'research', tier: 'standard', region: 'eu-west-1', costCenter: 'cc-1234' };
const principal = Object.freeze({
  type: 'Agent',
  id: 'research-bot',
  attrs: { ...attributes, attributes, spiffeId: 'spiffe://example.org/agents/research-bot', trustDomain: 'example.org' },
  groups: ['group4', 'researchers'],
});
const peer = { spiffeId: 'spiffe://example.org/agents/research-bot', trustDomain: 'example.org', authn: 'x509-svid' };
const request = (taskId) => ({
  principal,
  action: 'tools.files.v1.Files/ReadFile',
  resource: 'tool4',
  context: { peer, metadata: { 'x-task-id': taskId, 'x-request-id': `r-${taskId}` } },
});

// The plain way: every attribute and the whole context marshalled on every call.
const fullEntities = [
  { uid: { type: 'Agent', id: principal.id }, attrs: principal.attrs, parents: principal.groups.map((id) => ({ type: 'AgentGroup', id })) },
  { uid: { type: 'Action', id: 'tools.files.v1.Files/ReadFile' }, attrs: {}, parents: [{ type: 'Action', id: 'tools.files.v1.Files' }] },
  { uid: { type: 'Action', id: 'tools.files.v1.Files' }, attrs: {}, parents: [] },
];
function plainCedar(i) {
  const req = request(`t${i}`);
  const answer = statefulIsAuthorized({
    principal: { type: 'Agent', id: principal.id },
    action: { type: 'Action', id: req.action },
    resource: { type: 'Tool', id: req.resource },
    context: req.context,
    preparsedPolicySetId: set.cedarId,
    entities: fullEntities,
  });
  return answer.type === 'success' && answer.response.decision === 'allow';
}

const uncached = new PolicyEngine(set, { cacheSize: 0 });
const missing = new PolicyEngine(set);
const hitting = new PolicyEngine(set);
const cases = {
  'cedar-wasm, everything marshalled': (i) => plainCedar(i),
  'engine, cache off': (i) => uncached.authorize(request(`t${i}`)).allow,
  'engine, cache miss': (i) => missing.authorize(request(`t${i}`)).allow,
  'engine, cache hit': () => hitting.authorize(request('t0')).allow,
};

function round(fn, n, offset) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (!fn(offset + i)) throw new Error('expected allow');
  return Number(process.hrtime.bigint() - start) / 1000 / n;
}

console.log(`node ${process.version}, ${set.size} policies, set ${set.hash}`);
const ROUNDS = 7;
const entries = Object.entries(cases);
for (const [, fn] of entries) round(fn, 3_000, 1e9); // warm-up, with keys the measured rounds never reuse
// Rounds interleave the cases, so that a noisy neighbour slows them all alike.
const times = entries.map(() => []);
for (let r = 1; r <= ROUNDS; r++) {
  entries.forEach(([name, fn], c) => {
    const n = name.endsWith('hit') ? 100_000 : 2_000;
    times[c].push(round(fn, n, r * n));
  });
}
entries.forEach(([name], c) => {
  const t = times[c].sort((a, b) => a - b);
  console.log(`${name.padEnd(36)} ${t[ROUNDS >> 1].toFixed(2).padStart(8)} µs/decision  (min ${t[0].toFixed(2)}, max ${t[ROUNDS - 1].toFixed(2)})`);
});
