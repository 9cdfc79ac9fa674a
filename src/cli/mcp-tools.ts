import { resolve } from 'node:path';
import { loadConfig } from '../config/load-config';
import { errorMessage } from '../errors/unknown-error';
import { InvalidValueError } from '../errors/invalid-value-error';
import { UsageError, type CliCommand } from './command';
import { parseDuration } from './duration';
import { CONFIG_FLAG, parseFlags, required } from './flags';
import { fetchCatalog } from './mcp-catalog-fetch';
import { diffCatalogs } from './mcp-catalog-diff';
import { catalogText, readCatalogFile, writeCatalogFile, type McpCatalog } from './mcp-catalog-file';

const DEFAULT_TIMEOUT = '30s';
const DEFAULT_MAX_TOOLS = 10_000;

const USAGE = `Usage: toolgate mcp tools --config FILE --upstream NAME [--diff PINNED_FILE] [--out FILE]
                          [--timeout DURATION] [--max-tools N]

Fetches the tool and prompt definitions of the MCP upstream NAME as the gateway reaches it
(https: mTLS with the gateway's X.509-SVID from the config's Workload API, the upstream's
spiffeId checked; loopback http: plainly; the gateway's per-call JWT when the config has
credentials.signingKeyFile), every page of tools/list and prompts/list, and writes them as a
tool catalog file (docs/mcp.md, "Re-pinning"): sorted by name, the same bytes for the same
definitions. To stdout, or to --out FILE (written whole, then renamed into place).

  --diff PINNED_FILE  compare with a catalog file: prints each tool and prompt added, removed
                      or changed, with the pinned and live digests and a short diff of what
                      changed; exits 0 when the same, 1 when they differ, 2 on any error. With
                      --out (another file), writes what it compared, to be moved over
                      PINNED_FILE once reviewed: the pin is then exactly what was reviewed
  --timeout DURATION  give up after this long, the Workload API included (default ${DEFAULT_TIMEOUT})
  --max-tools N       refuse a server listing more tools (or prompts) than N (default ${DEFAULT_MAX_TOOLS})

Exits 1 on any failure (2 with --diff), with one line naming what failed: the Workload API,
connect (TLS, the SPIFFE ID check), initialize, list tools, list prompts.`;

/** `toolgate mcp tools`: fetch an MCP upstream's definitions as a catalog file, or diff them with one (the re-pin review). */
export const mcpToolsCommand: CliCommand = {
  name: 'tools',
  summary: "fetch an MCP upstream's tool definitions as a catalog file, or diff them with one",
  usage: USAGE,
  async run(argv, context) {
    const { values, positionals } = parseFlags(argv, {
      ...CONFIG_FLAG,
      upstream: { type: 'string', short: 'u' },
      out: { type: 'string', short: 'o' },
      diff: { type: 'string' },
      timeout: { type: 'string' },
      'max-tools': { type: 'string' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const configFile = required(values.config, 'config', USAGE);
    const name = required(values.upstream, 'upstream', USAGE);
    // Written over the pinned file, the candidate would be pinned before anyone reviewed the diff.
    if (values.out !== undefined && values.diff !== undefined && resolve(values.out) === resolve(values.diff)) {
      throw new UsageError('--out must not be the --diff file: write the candidate beside it, review the diff, then move it over the pinned one');
    }
    const timeoutMs = flagValue('timeout', () => positive(parseDuration(values.timeout ?? DEFAULT_TIMEOUT), values.timeout ?? DEFAULT_TIMEOUT));
    const maxItems = flagValue('max-tools', () => positiveInteger(values['max-tools'] ?? String(DEFAULT_MAX_TOOLS)));
    const failed = values.diff === undefined ? 1 : 2;
    try {
      const config = loadConfig(configFile);
      const upstream = config.mcpUpstreams.find((u) => u.name === name);
      if (upstream === undefined) {
        const known = config.mcpUpstreams.map((u) => u.name);
        throw new UsageError(`no MCP upstream "${name}" in ${configFile} (${known.length === 0 ? 'it has none' : `its MCP upstreams: ${known.join(', ')}`})`);
      }
      // The pinned file is read first: a bad one fails before anything is fetched.
      const pinned = values.diff === undefined ? undefined : readCatalogFile(values.diff);
      const live = await fetchCatalog({ config, upstream, timeoutMs, maxItems, signal: context.signal, note: (line) => context.stderr(line) });
      const text = catalogText(live);
      if (values.out !== undefined) {
        writeCatalogFile(values.out, text);
        context.stderr(`wrote ${values.out}: ${describe(live)} of upstream ${name}`);
      }
      if (pinned !== undefined) return report(values.diff!, pinned, live, context.stdout);
      // stdout adds the newline that ends the file.
      if (values.out === undefined) context.stdout(text.slice(0, -1));
      return 0;
    } catch (err) {
      if (err instanceof UsageError) throw err;
      context.stderr(`toolgate mcp tools: ${errorMessage(err)}`);
      return failed;
    }
  },
};

/** Prints the differences and says whether there are any: exit 0 when none, 1 when some. */
function report(file: string, pinned: McpCatalog, live: McpCatalog, stdout: (line: string) => void): number {
  const diff = diffCatalogs(pinned, live);
  for (const line of diff.lines) stdout(line);
  if (diff.lines.length === 0) {
    stdout(`same as ${file}: ${describe(live)}`);
    return 0;
  }
  stdout(`differs from ${file}: ${diff.added} added, ${diff.removed} removed, ${diff.changed} changed`);
  return 1;
}

function describe(catalog: McpCatalog): string {
  const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;
  return catalog.prompts === undefined ? count(catalog.tools.length, 'tool') : `${count(catalog.tools.length, 'tool')}, ${count(catalog.prompts.length, 'prompt')}`;
}

function positive(ms: number, text: string): number {
  if (ms <= 0) throw new InvalidValueError(`"${text}" is not longer than 0`);
  return ms;
}

function positiveInteger(text: string): number {
  if (!/^[1-9]\d*$/.test(text) || !Number.isSafeInteger(Number(text))) throw new InvalidValueError(`"${text}" is not a positive whole number`);
  return Number(text);
}

/** A flag's value, read by `parse`; an invalid one is a UsageError naming the flag. */
function flagValue<T>(flag: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError(`--${flag}: ${errorMessage(err)}`, { cause: err });
  }
}
