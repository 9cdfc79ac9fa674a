import { loadConfig } from '../config/load-config';
import { outcomeOf, type AuthorizationRequest, type Explanation } from '../policy/authorization';
import { PolicyEngine } from '../policy/policy-engine';
import { PolicySet } from '../policy/policy-set';
import { KnownActions } from '../policy/policy-test-actions';
import { principalSpecOf } from '../policy/policy-test-principal';
import { buildRequest, type RequestSpec } from '../policy/policy-test-request';
import { toCedarRecord } from '../policy/policy-test-value';
import { UsageError, type CliCommand } from './command';
import { parseFlags, required } from './flags';
import { errorMessage } from '../errors/unknown-error';
import { InvalidValueError } from '../errors/invalid-value-error';

const USAGE = `Usage: toolgate policy explain --config FILE --principal P --action A [options]

Decides one request as the gateway would and shows why: the decision, the policies that
determined it, every policy that was satisfied, evaluation errors, and the exact input
Cedar was given (attributes no policy reads are left out of it, as in the gateway).

  --principal P      agent name, SPIFFE ID, or JSON {"type","id","attrs","groups"}
  --action A         <package.Service>/<Method>, or an MCP action mcp:<upstream>/<method>[/<name>]
  --resource R       upstream name (default: the upstream the service is routed to, or the MCP action names)
  --request JSON     the decoded request message (MCP: the tool's arguments), as context.request
  --metadata K=V     a request header, as context.metadata (repeatable)
  --authn KIND       x509-svid (default) or jwt-svid, as context.peer.authn
  --context JSON     context attributes set as given, over the ones built above
  --policies DIR     the policy folder (default: the config's)
  --json             print the explanation as JSON`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  principal: { type: 'string' },
  action: { type: 'string' },
  resource: { type: 'string' },
  request: { type: 'string' },
  metadata: { type: 'string', multiple: true },
  authn: { type: 'string' },
  context: { type: 'string' },
  policies: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const policyExplainCommand: CliCommand = {
  name: 'explain',
  summary: 'decide one request and show why',
  usage: USAGE,
  async run(argv, context) {
    const { values } = parseFlags(argv, OPTIONS);
    for (const flag of ['principal', 'action'] as const) required(values[flag], flag, USAGE);
    const config = loadConfig(required(values.config, 'config', USAGE));
    const request = buildRequest(requestSpec(values), config);
    const set = PolicySet.loadDirectory(values.policies ?? config.policies);
    // A DENY for an action the gateway never decides (a typo) would explain nothing.
    const unknown = KnownActions.of(config, set.schema).problem(request.action);
    if (unknown !== undefined) throw new InvalidValueError(unknown);
    const explanation = new PolicyEngine(set, { cacheSize: 0 }).explain(request);
    const lines = values.json ? [JSON.stringify(explanation, null, 2)] : describe(explanation, request);
    for (const line of lines) context.stdout(line);
    return 0;
  },
};

type Values = ReturnType<typeof parseFlags<typeof OPTIONS>>['values'];

function requestSpec(values: Values): RequestSpec {
  const authn = values.authn;
  if (authn !== undefined && authn !== 'x509-svid' && authn !== 'jwt-svid') throw new UsageError('--authn must be x509-svid or jwt-svid');
  const metadata = Object.fromEntries(
    (values.metadata ?? []).map((pair) => {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UsageError(`--metadata ${pair}: expected NAME=VALUE`);
      return [pair.slice(0, eq), pair.slice(eq + 1)];
    }),
  );
  const principal = values.principal as string;
  return {
    principal: principal.startsWith('{') ? principalSpecOf(json(principal, '--principal')) : principal,
    action: values.action as string,
    ...(values.resource !== undefined && { resource: values.resource }),
    ...(authn !== undefined && { authn }),
    metadata,
    ...(values.request !== undefined && { request: toCedarRecord(json(values.request, '--request'), '--request') }),
    ...(values.context !== undefined && { context: toCedarRecord(json(values.context, '--context'), '--context') }),
  };
}

function json(text: string, flag: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${flag} is not JSON: ${errorMessage(err)}`, { cause: err });
  }
}

function describe(e: Explanation, request: AuthorizationRequest): string[] {
  const list = (ids: readonly string[]): string => (ids.length === 0 ? 'none' : ids.join(', '));
  return [
    `${outcomeOf(e).toUpperCase()} ${request.principal.type}::${JSON.stringify(request.principal.id)} ${request.action} on Tool::${JSON.stringify(request.resource)}`,
    `determining policies: ${list(e.policies)}`,
    ...(e.escalate === undefined
      ? []
      : [
          `approval needed:      ${e.escalate.quorum} of group "${e.escalate.group}"${e.escalate.ttlSeconds === undefined ? '' : `, request valid ${e.escalate.ttlSeconds} s`} (every determining permit has @approval)`,
        ]),
    `satisfied policies:   ${list(e.satisfied)}`,
    ...(e.errors.length === 0 ? ['errors: none'] : ['errors:', ...e.errors.map((m) => `  ${m}`)]),
    `policy set: ${e.policySet}`,
    `Cedar input:`,
    JSON.stringify(e.input, null, 2),
  ];
}
