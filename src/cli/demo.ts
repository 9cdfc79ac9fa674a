import { runDemo } from '../demo/run-demo';
import type { CliCommand } from './command';

export const demoCommand: CliCommand = {
  name: 'demo',
  summary: 'run the whole system on this machine with dev identities, and explain each call',
  usage:
    'Usage: toolgate demo\n\nStarts a dev identity provider, the example files tool and the gateway\n(examples/toolgate.yaml, policies/), makes sample calls, prints what happened and why, and exits.',
  async run(_argv, context) {
    await runDemo(context.stdout);
    return 0;
  },
};
