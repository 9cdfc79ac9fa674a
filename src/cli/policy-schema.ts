import { writeFileSync } from 'node:fs';
import { loadConfig } from '../config/load-config';
import { generateSchema } from '../policy/schema-generator';
import type { CliCommand } from './command';
import { CONFIG_FLAG, parseFlags, required } from './flags';

const USAGE = `Usage: toolgate policy schema --config FILE [--out FILE]

Writes the Cedar schema (human-readable syntax) generated from the config: the entity types
of its identity rules and upstreams, every method of every routed service as an action, and
each action's context, with context.request typed from the method's request message. Every
upstream must list its protos.

For an MCP upstream, the actions of docs/mcp.md ("What is decided") from its catalog file
(mcp.tools, written by \`toolgate mcp tools\`): one mcp:<upstream>/tools/call/<tool> action per
tool, context.request typed from the tool's inputSchema (string as String, integer as Long,
boolean as Bool, array as Set, object with properties as a record, \`required\` members
required; number, null, anyOf/oneOf/allOf, $ref, type lists and maps left out); one
mcp:<upstream>/prompts/get/<prompt> action per prompt, its arguments as Strings; and the
list, resources, completion, logging and tasks methods. Every MCP upstream must name its
catalog.

Writes to stdout, or to --out FILE (e.g. the policy folder's schema.cedarschema, which the
gateway then validates every policy against at load).`;

export const policySchemaCommand: CliCommand = {
  name: 'schema',
  summary: 'generate the Cedar schema from the config and its protos',
  usage: USAGE,
  async run(argv, context) {
    const { values } = parseFlags(argv, { ...CONFIG_FLAG, out: { type: 'string', short: 'o' } });
    const schema = generateSchema(loadConfig(required(values.config, 'config', USAGE)));
    if (values.out === undefined) {
      context.stdout(schema.trimEnd());
    } else {
      writeFileSync(values.out, schema);
      context.stdout(`wrote ${values.out}`);
    }
    return 0;
  },
};
