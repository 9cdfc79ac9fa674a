import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load-config';
import { generateSchema } from '../policy/schema-generator';
import { UsageError, type CliCommand } from './command';

const USAGE = `Usage: toolgate policy schema --config FILE [--out FILE]

Writes the Cedar schema (human-readable syntax) generated from the config: the entity types
of its identity rules and upstreams, every method of every routed service as an action, and
each action's context, with context.request typed from the method's request message. Every
upstream must list its protos. Writes to stdout, or to --out FILE (e.g. the policy folder's
schema.cedarschema, which the gateway then validates every policy against at load).`;

export const policySchemaCommand: CliCommand = {
  name: 'schema',
  summary: 'generate the Cedar schema from the config and its protos',
  usage: USAGE,
  async run(argv, context) {
    let values;
    try {
      ({ values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, out: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } } }));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (values.help) {
      context.stdout(USAGE);
      return 0;
    }
    if (!values.config) throw new UsageError(`--config FILE is required\n\n${USAGE}`);
    const schema = generateSchema(loadConfig(values.config));
    if (values.out === undefined) {
      context.stdout(schema.trimEnd());
    } else {
      writeFileSync(values.out, schema);
      context.stdout(`wrote ${values.out}`);
    }
    return 0;
  },
};
