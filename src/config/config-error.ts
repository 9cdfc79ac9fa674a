/** One problem in a config file. */
export interface ConfigIssue {
  /** The key path in the user's terms, e.g. `upstreams[0].spiffeId`. */
  path: string;
  /** 1-based line in the file, when known. */
  line?: number;
  message: string;
}

/**
 * A config file that cannot be used. The message has one line per problem, each naming
 * the file, line, key path and what is wrong:
 * `toolgate.yaml:12: upstreams[0].spiffeId: invalid SPIFFE ID "spiffe://Bad": ...`.
 */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';

  constructor(
    readonly source: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(issues.map((issue) => formatIssue(source, issue)).join('\n'));
    this.name = 'ConfigError';
  }
}

function formatIssue(source: string, { path, line, message }: ConfigIssue): string {
  const where = line === undefined ? source : `${source}:${line}`;
  return path === '' ? `${where}: ${message}` : `${where}: ${path}: ${message}`;
}
