/*
 * Cost of a decision that depends on the call's arguments (a cache miss every call): the
 * engine deciding through cedar-wasm against the engine with the compiled fast path
 * (src/policy/fast-path.ts), same policies, same requests, same run. The set is the one of
 * bench/policy-decision.bench.js (20 policies, indexed to a slice of 3 for this caller) with
 * conditions on `context.request`, as a tool call's decoded arguments give them; the shadow
 * check runs at its default rate (1 in 1000) on the fast side, so its cost is included.
 *
 * Sides alternate round after round; numbers are µs per decision, the median over rounds.
 *
 * Run: `npm run bench:build && node bench/dist/bench/micro/policy-fast-path.bench.js`
 * Env: BENCH_MICRO_ROUNDS (default 9), BENCH_MICRO_ROUND_MS (default 150).
 */
import { PolicyEngine, PolicySet, type AuthorizationRequest } from '../../src/policy';
import { alternatingRounds, median, ROUND_MS, ROUNDS } from './alternating-rounds';

const SERVICES = ['tools.files.v1.Files', 'tools.search.v1.Search', 'tools.shell.v1.Shell', 'tools.db.v1.Db'];
const policies: string[] = [];
for (let i = 0; i < 18; i++) {
  policies.push(
    `@id("p${i}")\npermit (principal in AgentGroup::"group${i}", action in Action::"${SERVICES[i % SERVICES.length]}", resource == Tool::"tool${i % 5}")\n` +
      `when { context.peer.authn == "x509-svid" && context.request.size <= 1000000 && context.request.path like "/data/*" && !(context.request.tags.contains("secret")) };`,
  );
}
policies.push('@id("sandbox")\nforbid (principal is Agent, action in Action::"tools.shell.v1.Shell", resource) when { principal has tier && principal.tier == "sandbox" };');
policies.push('@id("workloads")\nforbid (principal is Workload, action, resource) when { context.peer.authn == "jwt-svid" };');
policies.push('@id("no-etc")\nforbid (principal, action in Action::"tools.files.v1.Files", resource) when { context.request.path like "/etc/*" };');
const set = PolicySet.fromText({ 'bench.cedar': policies.join('\n\n') });

const attributes = { team: 'research', tier: 'standard', region: 'eu-west-1', costCenter: 'cc-1234' };
const principal = Object.freeze({
  type: 'Agent' as const,
  id: 'research-bot',
  attrs: { ...attributes, attributes, spiffeId: 'spiffe://example.org/agents/research-bot', trustDomain: 'example.org' },
  groups: ['group4', 'researchers'],
});
const peer = { spiffeId: 'spiffe://example.org/agents/research-bot', trustDomain: 'example.org', authn: 'x509-svid' };
let n = 0;
/** A new argument every call, so that no decision comes from the cache. */
const request = (): AuthorizationRequest => ({
  principal,
  action: 'tools.files.v1.Files/ReadFile',
  resource: 'tool4',
  context: { peer, request: { path: `/data/reports/${n}.csv`, size: n++ % 100_000, tags: ['csv', 'report'] } },
});

const wasm = new PolicyEngine(set);
const fast = new PolicyEngine(set, { fastPath: true });
const sides: Array<[string, () => void]> = [
  ['engine, cedar-wasm (cache miss)', () => void wasm.authorize(request()).allow],
  ['engine, compiled fast path (cache miss; 1 in 1000 also checked by cedar-wasm)', () => void fast.authorize(request()).allow],
  ['building the request alone (subtract from both)', () => void request()],
];
for (const engine of [wasm, fast]) if (!engine.authorize(request()).allow) throw new Error('expected allow');

const results = alternatingRounds(sides);

console.log(`node ${process.version}, ${set.size} policies, ${ROUNDS} rounds of ~${ROUND_MS} ms per side; µs per decision (median; min–max over rounds)\n`);
console.log('| decision | µs/op | rounds min–max |');
console.log('| --- | ---: | ---: |');
sides.forEach(([label], i) => {
  const xs = results[i]!;
  console.log(`| ${label} | ${median(xs).toFixed(2)} | ${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)} |`);
});
console.log(`\nfast path: ${JSON.stringify(fast.fastPathStats)}`);
