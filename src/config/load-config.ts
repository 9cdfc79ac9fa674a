import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, type ConfigIssue } from './config-error';
import type { GatewayConfig } from './gateway-config';
import { IssueList } from './issue-list';
import { formatKeyPath } from './key-path';
import { resolveConfig } from './resolve-config';
import { checkSchema } from './schema-issues';
import { parseYaml } from './yaml-document';
import { errorCode, errorMessage } from '../errors/unknown-error';

/**
 * Reads and validates the config file (docs/config.md). Relative paths resolve against
 * the file's folder; `$SPIFFE_ENDPOINT_SOCKET` from `env` stands in for an absent
 * `spiffe.endpointSocket`. Throws `ConfigError` listing every problem found.
 */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = errorCode(err) === 'ENOENT' ? 'file not found' : errorMessage(err);
    throw new ConfigError(file, [{ path: '', message: `cannot read the config file: ${reason}` }]);
  }
  return parse(text, dirname(resolve(file)), file, env);
}

/**
 * Validates config text as if read from a file in `baseDir`, named `source` in errors.
 * Unlike `loadConfig` it reads no environment. Throws `ConfigError`.
 */
export function parseConfig(text: string, baseDir: string, source = 'config'): GatewayConfig {
  return parse(text, resolve(baseDir), source, undefined);
}

function parse(text: string, baseDir: string, source: string, env: NodeJS.ProcessEnv | undefined): GatewayConfig {
  const doc = parseYaml(text);
  if (doc.problems.length > 0) {
    throw new ConfigError(
      source,
      doc.problems.map(({ line, message }) => ({ path: '', message, ...(line !== undefined && { line }) })),
    );
  }
  const issues = new IssueList();
  checkSchema(doc.value, issues);
  const config = resolveConfig(doc.value, { baseDir, env }, issues);
  if (config) return config;

  const located = issues.list().map(({ path, message }): ConfigIssue => {
    const line = doc.lineOf(path);
    return { path: formatKeyPath(path), message, ...(line !== undefined && { line }) };
  });
  // In file order, so the report reads top to bottom; problems without a line go first.
  located.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  throw new ConfigError(source, located);
}
