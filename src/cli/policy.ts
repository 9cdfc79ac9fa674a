import { commandGroup } from './command-group';
import { policyExplainCommand } from './policy-explain';
import { policySchemaCommand } from './policy-schema';
import { policyTestCommand } from './policy-test';
import { policyValidateCommand } from './policy-validate';

/** `toolgate policy <validate|schema|test|explain>`: the tools for writing and checking policies. */
export const policyCommand = commandGroup({
  name: 'policy',
  summary: 'validate, test and explain Cedar policies; generate their schema',
  subcommands: [policyValidateCommand, policySchemaCommand, policyTestCommand, policyExplainCommand],
});
