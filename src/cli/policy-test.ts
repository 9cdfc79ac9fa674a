import { loadConfig } from '../config/load-config';
import { PolicyEngine } from '../policy/policy-engine';
import { PolicySet } from '../policy/policy-set';
import { KnownActions } from '../policy/policy-test-actions';
import { readPolicyTestFile } from '../policy/policy-test-file';
import { runPolicyTests, type PolicyTestResult } from '../policy/policy-test-runner';
import { UsageError, type CliCommand } from './command';
import { CONFIG_FLAG, parseFlags } from './flags';

const USAGE = `Usage: toolgate policy test FILE [--config FILE] [--policies DIR]

Runs the policy test cases of FILE (YAML) against the config's policy folder (or DIR). The
config comes from --config, else from the file's own \`config:\` key. Each case names a
principal (agent name, SPIFFE ID, or {type, id, attrs, groups}), an action, optionally a
resource, authn, metadata, request (the decoded message) or context, and the expected
decision (allow or deny) and, optionally, the policies expected to determine it:

  config: ../examples/toolgate.yaml
  cases:
    - name: researchers read reports
      principal: research-bot
      action: tools.files.v1.Files/ReadFile
      request: { path: /reports/q3.md, maxBytes: 1024 }
      expect: allow
      policies: [researchers-read-files]

Prints one line per case and a summary; exits 1 when any case fails. A case whose
evaluation reports an error fails whatever its decision, and so does a case whose action the
gateway never decides: one that is not a method of a routed service (by the upstream's
protos, else the policy folder's schema), an MCP action of an MCP upstream (by its catalog,
mcp.tools, else the schema: mcp:notes/tools/call/read_note, with the tool's arguments as
request), nor toolgate.v1.Tasks/BeginTask.`;

export const policyTestCommand: CliCommand = {
  name: 'test',
  summary: 'run policy test cases (YAML) and report each',
  usage: USAGE,
  async run(argv, context) {
    const { values, positionals } = parseFlags(argv, { ...CONFIG_FLAG, policies: { type: 'string' } });
    if (positionals.length !== 1) throw new UsageError(`expected one test FILE, got ${positionals.length}\n\n${USAGE}`);
    const tests = readPolicyTestFile(positionals[0] as string);
    const configFile = values.config ?? tests.config;
    if (configFile === undefined) throw new UsageError('no config: give --config FILE, or set `config:` in the test file');
    const config = loadConfig(configFile);
    const set = PolicySet.loadDirectory(values.policies ?? config.policies);
    const engine = new PolicyEngine(set, { cacheSize: 0 });
    const results = runPolicyTests(tests.cases, engine, config, KnownActions.of(config, set.schema));
    for (const line of report(results)) context.stdout(line);
    return results.some((r) => r.failure !== undefined) ? 1 : 0;
  },
};

/** `✓ name` or `✗ name: why`, one per case, then `N passed, M failed`. */
export function report(results: readonly PolicyTestResult[]): string[] {
  const failed = results.filter((r) => r.failure !== undefined).length;
  return [...results.map((r) => (r.failure === undefined ? `✓ ${r.name}` : `✗ ${r.name}: ${r.failure}`)), `${results.length - failed} passed, ${failed} failed`];
}
