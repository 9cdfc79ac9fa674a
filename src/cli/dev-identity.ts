import { parseArgs } from 'node:util';
import { DevIdentityProvider } from '../spiffe/dev/identity-provider';
import { parseListenAddress } from '../spiffe/dev/listen-address';
import { SpiffeId } from '../spiffe/id/spiffe-id';
import { TrustDomain } from '../spiffe/id/trust-domain';
import { UsageError, type CliCommand, type CliContext } from './command';
import { parseDuration } from './duration';
import { errorMessage } from '../errors/unknown-error';

export interface DevIdentityEndpoint {
  address: string;
  /** Every caller of `address` is these identities (first = default); empty: no identity. */
  ids: string[];
}

export interface DevIdentityConfig {
  trustDomain: string;
  federatedTrustDomains: string[];
  endpoints: DevIdentityEndpoint[];
  /** 0: no automatic rotation. */
  rotateEveryMs: number;
  svidTtlMs: number;
  jwtTtlMs: number;
  intermediate: boolean;
}

const USAGE = `Usage: toolgate dev-identity --trust-domain TD (--serve ADDR=ID[,ID...] | --socket ADDR --id ID...) [options]

A dev SPIFFE Workload API with an in-memory CA. It cannot attest callers, so identity is
per socket: every caller of a socket gets the SVIDs of the IDs given for it (the first is
the default SVID). ADDR is unix:///absolute/path.sock or tcp://127.0.0.1:PORT.

  --trust-domain TD       own trust domain (required)
  --serve ADDR=ID[,ID]    serve these IDs on ADDR; repeatable, one socket each
  --socket ADDR --id ID   the same for one socket; --id is repeatable
  --no-identity ADDR      a socket whose callers have no identity (PermissionDenied); repeatable
  --federate TD           a federated trust domain with its own CA; its bundles are served
                          and IDs in it may be served; repeatable
  --rotate-every DUR      re-issue the X.509-SVIDs this often (e.g. 60s); default never
  --svid-ttl DUR          X.509-SVID lifetime; default 1h
  --jwt-ttl DUR           JWT-SVID lifetime; default 5m
  --intermediate          issue from an intermediate CA
  -h, --help              show this help

It prints the sockets and IDs it serves (never keys or tokens) and runs until SIGINT/SIGTERM.`;

const OPTIONS = {
  'trust-domain': { type: 'string' },
  serve: { type: 'string', multiple: true },
  socket: { type: 'string' },
  id: { type: 'string', multiple: true },
  'no-identity': { type: 'string', multiple: true },
  federate: { type: 'string', multiple: true },
  'rotate-every': { type: 'string' },
  'svid-ttl': { type: 'string' },
  'jwt-ttl': { type: 'string' },
  intermediate: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Parses and checks the arguments; throws `UsageError` naming the offending flag. */
export function parseDevIdentityArgs(argv: string[]): DevIdentityConfig {
  return toConfig(parseFlags(argv));
}

function parseFlags(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(errorMessage(err), { cause: err });
  }
}

function toConfig(values: ReturnType<typeof parseFlags>): DevIdentityConfig {
  const tdFlag = values['trust-domain'];
  if (tdFlag === undefined) throw new UsageError('--trust-domain is required');
  const trustDomain = flagCheck('--trust-domain', () => TrustDomain.parse(tdFlag).name);
  const federatedTrustDomains = (values.federate ?? []).map((td) => flagCheck('--federate', () => TrustDomain.parse(td).name));
  const known = new Set([trustDomain, ...federatedTrustDomains]);
  if (known.size !== federatedTrustDomains.length + 1) throw new UsageError('--federate: a trust domain is given twice or is the own one');

  const endpoints: DevIdentityEndpoint[] = (values.serve ?? []).map((spec) => {
    const eq = spec.lastIndexOf('=');
    if (eq <= 0 || eq === spec.length - 1) throw new UsageError(`--serve: expected ADDR=ID[,ID...], got "${spec}"`);
    return endpoint('--serve', spec.slice(0, eq), spec.slice(eq + 1).split(','), known);
  });
  if (values.socket !== undefined) {
    if (values.id === undefined) throw new UsageError('--socket needs at least one --id');
    endpoints.push(endpoint('--socket', values.socket, values.id, known));
  } else if (values.id !== undefined) {
    throw new UsageError('--id needs --socket (or use --serve ADDR=ID)');
  }
  for (const address of values['no-identity'] ?? []) endpoints.push(endpoint('--no-identity', address, [], known));
  if (endpoints.length === 0) throw new UsageError('nothing to serve: give --serve, --socket with --id, or --no-identity');
  const addresses = endpoints.map((e) => e.address);
  const repeated = addresses.find((a, i) => addresses.indexOf(a) !== i);
  if (repeated !== undefined) throw new UsageError(`socket ${repeated} is given twice`);

  return {
    trustDomain,
    federatedTrustDomains,
    endpoints,
    rotateEveryMs: duration('--rotate-every', values['rotate-every'], 0),
    svidTtlMs: duration('--svid-ttl', values['svid-ttl'], 3_600_000),
    jwtTtlMs: duration('--jwt-ttl', values['jwt-ttl'], 300_000),
    intermediate: values.intermediate ?? false,
  };
}

/** Serves until `context.signal` aborts, then closes every socket. */
export async function runDevIdentity(argv: string[], context: CliContext): Promise<number> {
  const flags = parseFlags(argv);
  if (flags.help) {
    context.stdout(USAGE);
    return 0;
  }
  const config = toConfig(flags);
  const provider = await DevIdentityProvider.create({
    trustDomain: config.trustDomain,
    federatedTrustDomains: config.federatedTrustDomains,
    rotateEveryMs: config.rotateEveryMs,
    svidTtlMs: config.svidTtlMs,
    jwtTtlMs: config.jwtTtlMs,
    intermediate: config.intermediate,
    logger: {
      info: (_details, message) => context.stdout(message),
      error: (details, message) => context.stderr(`${message}: ${String((details as { err?: unknown }).err)}`),
    },
  });
  try {
    const federated = config.federatedTrustDomains.length > 0 ? ` (federated: ${config.federatedTrustDomains.join(', ')})` : '';
    context.stdout(`dev Workload API for trust domain ${config.trustDomain}${federated}`);
    for (const e of config.endpoints) {
      const api = e.ids.length > 0 ? await provider.serve(e.ids, e.address) : await provider.serveNoIdentity(e.address);
      context.stdout(`  ${api.address}  ${e.ids.length > 0 ? e.ids.join(', ') : '(no identity)'}`);
    }
    if (config.rotateEveryMs > 0) context.stdout(`X.509-SVIDs rotate every ${config.rotateEveryMs / 1000}s`);
    context.stdout('stop with Ctrl-C (SIGINT) or SIGTERM');
    await aborted(context.signal);
  } finally {
    await provider.close();
  }
  context.stdout('stopped');
  return 0;
}

export const devIdentityCommand: CliCommand = {
  name: 'dev-identity',
  summary: 'run a dev SPIFFE Workload API (in-memory CA) for tests and demos',
  usage: USAGE,
  run: runDevIdentity,
};

function endpoint(flag: string, address: string, ids: string[], known: Set<string>): DevIdentityEndpoint {
  flagCheck(flag, () => parseListenAddress(address));
  for (const id of ids) {
    const parsed = flagCheck(flag, () => SpiffeId.parse(id));
    if (!parsed.isWorkload) throw new UsageError(`${flag}: "${id}" is a trust domain ID, not a workload ID`);
    if (!known.has(parsed.trustDomain.name)) {
      throw new UsageError(`${flag}: "${id}" is not in --trust-domain or a --federate trust domain`);
    }
  }
  return { address, ids };
}

function duration(flag: string, text: string | undefined, fallback: number): number {
  return text === undefined ? fallback : flagCheck(flag, () => parseDuration(text));
}

function flagCheck<T>(flag: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new UsageError(`${flag}: ${errorMessage(err)}`, { cause: err });
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
