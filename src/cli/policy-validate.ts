import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config/load-config';
import { PolicyError } from '../policy/errors';
import { PolicySet } from '../policy/policy-set';
import { sameSchema } from '../policy/schema-drift';
import { generateSchema, SchemaGenerationError, type SchemaSource } from '../policy/schema-generator';
import type { CliCommand } from './command';
import { CONFIG_FLAG, parseFlags, required } from './flags';

const USAGE = `Usage: toolgate policy validate --config FILE [--policies DIR]

Loads the config's policy folder (or DIR) as the gateway does at start: parses every policy
and validates it against the folder's schema in strict mode. Prints each problem and exits 1
on any; prints warnings (also when the folder's schema differs from the one generated from
the config, or there is none) and exits 0 otherwise.`;

export const policyValidateCommand: CliCommand = {
  name: 'validate',
  summary: 'parse the policies and validate them against the schema',
  usage: USAGE,
  async run(argv, context) {
    const { values } = parseFlags(argv, { ...CONFIG_FLAG, policies: { type: 'string' } });
    const configFile = required(values.config, 'config', USAGE);
    const config = loadConfig(configFile);
    const dir = values.policies ?? config.policies;
    let set: PolicySet;
    try {
      set = PolicySet.loadDirectory(dir);
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      const problems = err.problems.length > 0 ? err.problems : [err.message];
      for (const problem of problems) context.stdout(`error: ${problem}`);
      context.stdout(`${dir}: ${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}`);
      return 1;
    }
    for (const warning of [...set.warnings, ...schemaWarnings(set, dir, config, configFile)]) context.stdout(`warning: ${warning}`);
    context.stdout(`${dir}: ${set.size} policies ${set.schema === undefined ? 'parsed' : 'valid against the schema'} (set ${set.hash})`);
    return 0;
  },
};

/** Why the set's validation may not mean much: no schema, or one that is not the config's. */
function schemaWarnings(set: PolicySet, dir: string, config: SchemaSource, file: string): string[] {
  const schemaFile = readdirSync(dir).find((name) => name.endsWith('.cedarschema') && !name.startsWith('.')) ?? 'schema.cedarschema';
  const regenerate = `toolgate policy schema --config ${file} --out ${join(dir, schemaFile)}`;
  if (set.schema === undefined) return [`${dir} has no *.cedarschema, so policies are not validated; generate one: ${regenerate}`];
  let generated: string;
  try {
    generated = generateSchema(config);
  } catch (err) {
    // A config whose upstreams lack protos has no generated schema to compare with: a hand-written one is all there is.
    if (err instanceof SchemaGenerationError) return [];
    throw err;
  }
  return sameSchema(set.schema, generated) === false ? [`the schema in ${dir} is not the one generated from ${file}; regenerate it: ${regenerate}`] : [];
}
