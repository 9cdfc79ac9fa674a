import { loadConfig } from '../config/load-config';
import { PolicySet } from '../policy/policy-set';
import type { CliCommand } from './command';
import { parseConfigFlag } from './config-flag';

const USAGE = `Usage: toolgate check --config FILE

Validates the config file and the policy set it names (parse, schema validation), as
\`toolgate run\` would at start, without connecting to anything. Exits 0 when both are
valid, 1 with every problem listed otherwise.`;

export const checkCommand: CliCommand = {
  name: 'check',
  summary: 'validate a config file and its policies, then exit',
  usage: USAGE,
  async run(argv, context) {
    const { config: file, help } = parseConfigFlag(argv, USAGE);
    if (help) {
      context.stdout(USAGE);
      return 0;
    }
    const config = loadConfig(file);
    const policies = PolicySet.loadDirectory(config.policies);
    context.stdout(
      `${file}: OK (${config.identities.length} identity rules, ${config.upstreams.length} upstreams, ` +
        `${policies.size} policies in set ${policies.hash})`,
    );
    return 0;
  },
};
