import Ajv, { type ErrorObject } from 'ajv';
import { didYouMean } from './did-you-mean';
import type { IssueList } from './issue-list';
import { formatKeyPath, keyPathFromPointer } from './key-path';
import { configSchema } from './schema';

// Compiled once per process; `verbose` puts the failing schema on each error, which is
// where the known keys (for "did you mean") and pattern descriptions come from.
const validate = new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true }).compile(configSchema);

/** Checks `data` against the config schema; each violation becomes an issue at its key path. */
export function checkSchema(data: unknown, issues: IssueList): void {
  if (validate(data)) return;
  for (const error of validate.errors ?? []) {
    const path = keyPathFromPointer(error.instancePath, data);
    switch (error.keyword) {
      case 'additionalProperties': {
        const key = error.params.additionalProperty as string;
        const suggestion = didYouMean(key, Object.keys(error.parentSchema?.properties ?? {}));
        issues.add([...path, key], suggestion ? `unknown key (did you mean "${suggestion}"?)` : 'unknown key');
        break;
      }
      case 'required':
        issues.add([...path, error.params.missingProperty as string], 'missing required key');
        break;
      case 'propertyNames':
      case 'if':
        break; // the nested error names the key itself
      case 'pattern':
        if (error.propertyName !== undefined) {
          issues.add([...path, error.propertyName], `${JSON.stringify(error.propertyName)} is not ${error.parentSchema?.description}`);
        } else {
          issues.add(path, `${JSON.stringify(error.data)} is not ${error.parentSchema?.description}`);
        }
        break;
      case 'uniqueItems': {
        // Reported at the later copy, naming the earlier one.
        const { i, j } = error.params as { i: number; j: number };
        const [first, later] = i < j ? [i, j] : [j, i];
        issues.add([...path, later], `${JSON.stringify((error.data as unknown[])[later])} is listed twice (also ${formatKeyPath([...path, first])})`);
        break;
      }
      default:
        issues.add(path, describe(error));
    }
  }
}

function describe(error: ErrorObject): string {
  const { keyword, params, data } = error;
  switch (keyword) {
    case 'type': {
      const types = ([] as string[]).concat(params.type as string | string[]).map(typeName);
      const expected = types.length === 1 ? types[0] : `${types.slice(0, -1).join(', ')} or ${types.at(-1)}`;
      return `must be ${expected}, not ${valueName(data)}`;
    }
    case 'enum':
      return `${JSON.stringify(data)} is not one of: ${(params.allowedValues as unknown[]).join(', ')}`;
    case 'minItems':
      return params.limit === 1 ? 'must not be empty' : `must have at least ${params.limit} items`;
    case 'minLength':
      return 'must not be empty';
    case 'minimum':
      return `must be at least ${params.limit}, not ${data}`;
    case 'maximum':
      return `must be at most ${params.limit}, not ${data}`;
    default:
      return error.message ?? `fails ${keyword}`;
  }
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean',
  array: 'a list',
  object: 'a mapping',
  null: 'empty',
};

function typeName(type: string): string {
  return TYPE_NAMES[type] ?? type;
}

/** The offending value in YAML terms, short enough for one line. */
function valueName(value: unknown): string {
  if (value === null) return 'empty (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value === 'number' ? 'the number' : ''} ${String(value)}`.trim();
}
