import { loadConfig } from '../config/load-config';
import { KeyRing } from '../credentials/key-ring';
import { OidcIssuer } from '../identity/oidc-issuer';
import { readCheckpointKeyFile } from '../observability/checkpoint-key';
import { loadPolicies, policyFolders } from '../policy/policy-store';
import { MethodCatalog } from '../relay/method-catalog';
import type { CliCommand } from './command';
import { CONFIG_FLAG, parseFlags, required } from './flags';

const USAGE = `Usage: toolgate check --config FILE

Validates the config file, the policy sets it names (live and shadow: parse, schema
validation), the upstreams' protos, the MCP upstreams' tool catalogs (mcp.tools), the signing
and checkpoint key files and OIDC JWKS files, as \`toolgate run\` would at start, without
connecting to anything: an upstream's server reflection is asked at start only. Exits 0
when all are valid, 1 with the problems listed otherwise.`;

export const checkCommand: CliCommand = {
  name: 'check',
  summary: 'validate a config file and its policies, then exit',
  usage: USAGE,
  async run(argv, context) {
    const file = required(parseFlags(argv, CONFIG_FLAG).values.config, 'config', USAGE);
    const config = loadConfig(file);
    // Nothing is decided here, so shadow disagreements and errors have nowhere to go.
    const { live, shadow } = loadPolicies(policyFolders(config.policies, config.shadowPolicies), { onDisagreement: () => {}, onError: () => {} });
    for (const u of config.upstreams) if (u.protos.length > 0) MethodCatalog.load(u.name, u.protos, u.services);
    const keyFile = config.credentials.signingKeyFile;
    // Read and imported exactly as at start; a bad file throws naming it, never its content.
    if (keyFile !== undefined) (await KeyRing.create({ signingKeyFile: keyFile, rotateSeconds: config.credentials.rotateSeconds, retainSeconds: 0 })).close();
    if (config.decisionLog.checkpointKeyFile !== undefined) readCheckpointKeyFile(config.decisionLog.checkpointKeyFile);
    // OIDC issuers read a jwksFile when built (a jwksUri is fetched on first use only).
    for (const issuer of [...(config.workloadTokens?.oidc ?? []), ...(config.onBehalfOf ? [config.onBehalfOf] : [])]) new OidcIssuer(issuer);
    const shadowNote = shadow ? `, ${shadow.size} shadow policies in set ${shadow.hash}` : '';
    // The catalogs were read and checked by loadConfig, as at start.
    const pinned = config.mcpUpstreams.reduce((n, u) => n + (u.tools?.tools.length ?? 0), 0);
    const mcpNote = config.mcpUpstreams.length > 0 ? `${config.mcpUpstreams.length} MCP upstreams (${pinned} tools pinned from catalogs), ` : '';
    context.stdout(
      `${file}: OK (${config.identities.length} identity rules, ${config.upstreams.length} upstreams, ${mcpNote}` + `${live.size} policies in set ${live.hash}${shadowNote})`,
    );
    return 0;
  },
};
