// Run by sustained-load.test.ts in a plain node process started with --allow-natives-syntax
// (see there). src/policy is imported first, so its V8 guard runs before cedar-wasm loads,
// exactly as in the gateway.
import { PolicyEngine, PolicySet, type AuthorizationRequest } from '../../../../src/policy';
import { agent, READ, request, WRITE } from '../fixtures';

type Native = (f: unknown) => number;
// V8 intrinsics, reachable only through the Function constructor (swc cannot parse `%`).
const native = (name: string): Native => new Function('f', `return %${name}(f)`) as Native;
const prepareForOptimization = native('PrepareFunctionForOptimization');
const optimizeOnNextCall = native('OptimizeFunctionOnNextCall');
const deoptimize = native('DeoptimizeFunction');
const optimizationStatus = native('GetOptimizationStatus');
/** Bit of %GetOptimizationStatus meaning "has TurboFan code" (V8 11.3, Node 20). */
const TURBOFANNED = 1 << 6;

const runMs = Number(process.argv[2] ?? 3000);

const POLICIES = Array.from({ length: 20 }, (_, i) =>
  i === 0
    ? '@id("group-read")\npermit (principal in AgentGroup::"readers", action == Action::"tools.files.v1.Files/ReadFile", resource == Tool::"files") when { context.peer.authn == "x509-svid" };'
    : `@id("p${i}")\npermit (principal in AgentGroup::"g${i}", action in Action::"svc${i}.S", resource == Tool::"t${i}") when { context.metadata has n && context.metadata.n == "${i}" };`,
).join('\n');

const set = PolicySet.fromText({ 'load.cedar': POLICIES });
const reader = agent('reader', ['readers'], { team: 'research' });
const stranger = agent('stranger', ['nobody']);

/**
 * The exact failure, made deterministic: `authorize` optimized by TurboFan (with the wasm
 * call inlined, unless the guard is on), then deoptimized lazily while that wasm call is on
 * the stack. cedar-wasm's glue JSON.stringify-s the request from inside the wasm call, so a
 * context value's toJSON runs right there. Without the guard V8 aborts on the way back out.
 */
function lazyDeoptDuringWasmCall(): { optimized: boolean; trapped: number; allow: boolean } {
  const engine = new PolicyEngine(set, { cacheSize: 0 });
  const authorize = PolicyEngine.prototype.authorize;
  let armed = false;
  let trapped = 0;
  // Present in every call, so that warming up sees the same shapes as the trapped call.
  class Trap {
    toJSON(): number {
      if (armed) {
        trapped++;
        deoptimize(authorize);
      }
      return 1;
    }
  }
  // Under a name the policies read (`context.metadata.n`), so that the engine sends it to Cedar.
  const req = (): AuthorizationRequest => ({ ...request(reader, READ), context: { peer: { authn: 'x509-svid' }, metadata: { n: new Trap() as never } } });
  prepareForOptimization(authorize);
  for (let i = 0; i < 50; i++) engine.authorize(req());
  optimizeOnNextCall(authorize);
  engine.authorize(req());
  engine.authorize(req());
  const optimized = (optimizationStatus(authorize) & TURBOFANNED) !== 0;
  armed = true;
  const allow = engine.authorize(req()).allow;
  return { optimized, trapped, allow };
}

/** Engine decisions with distinct contexts, so that every one reaches Cedar; returns the wrong ones. */
async function engineLoop(deadline: number, counter: { n: number }): Promise<string[]> {
  const engine = new PolicyEngine(set, { cacheSize: 0 });
  const wrong: string[] = [];
  while (Date.now() < deadline) {
    for (let k = 0; k < 20; k++, counter.n++) {
      const n = counter.n;
      const allow = n % 3 !== 0;
      const req = request(allow ? reader : stranger, allow || n % 2 === 0 ? READ : WRITE, { metadata: { n: String(n) } });
      // Alternate the key order of the context: two object shapes through the same path.
      const context = n % 2 === 0 ? req.context : { metadata: req.context['metadata'] as never, peer: req.context['peer'] as never };
      const decision = engine.authorize({ ...req, context });
      if (decision.allow !== allow || decision.errors.length > 0 || decision.cached) wrong.push(`${n}: ${JSON.stringify(decision)}`);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return wrong;
}

async function churn(deadline: number): Promise<string[]> {
  while (Date.now() < deadline) {
    const garbage = Array.from({ length: 1000 }, (_, i) => ({ i, s: `x${i}`, list: [i] }));
    JSON.parse(JSON.stringify(garbage));
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return [];
}

async function main(): Promise<void> {
  const trap = lazyDeoptDuringWasmCall();
  const counter = { n: 0 };
  const deadline = Date.now() + runMs;
  const wrong = (await Promise.all([engineLoop(deadline, counter), churn(deadline)])).flat();
  process.stdout.write(JSON.stringify({ trap, decisions: counter.n, wrong: wrong.slice(0, 5) }));
}

void main();
