import { ToolgateError } from '../errors/toolgate-error';

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
 * `source` is '' for a problem found after loading, at start (an environment variable
 * that is unset, a clash with the gateway's own trust domain): the line names the key.
 */
export class ConfigError extends ToolgateError<'ERR_CONFIG'> {
  constructor(
    readonly source: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super('ERR_CONFIG', issues.map((issue) => formatIssue(source, issue)).join('\n'));
  }
}

function formatIssue(source: string, { path, line, message }: ConfigIssue): string {
  const where = line === undefined ? source : `${source}:${line}`;
  return [where, path, message].filter((part) => part !== '').join(': ');
}
