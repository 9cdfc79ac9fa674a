import { UsageError, type CliContext } from '../../../src/cli/command';
import { parseDevIdentityArgs, runDevIdentity } from '../../../src/cli/dev-identity';
import { parseDuration } from '../../../src/cli/duration';
import { main } from '../../../src/cli/main';

const A = 'spiffe://example.org/agents/a';
const B = 'spiffe://example.org/agents/b';

describe('toolgate dev-identity arguments', () => {
  it('reads --serve, --socket/--id, --no-identity, --federate and durations', () => {
    const config = parseDevIdentityArgs([
      '--trust-domain',
      'example.org',
      '--federate',
      'partner.test',
      '--serve',
      `unix:///tmp/a.sock=${A},spiffe://partner.test/x`,
      '--socket',
      'tcp://127.0.0.1:0',
      '--id',
      B,
      '--id',
      A,
      '--no-identity',
      'unix:///tmp/none.sock',
      '--rotate-every',
      '60s',
      '--svid-ttl',
      '2h',
      '--jwt-ttl',
      '90s',
      '--intermediate',
    ]);
    expect(config).toEqual({
      trustDomain: 'example.org',
      federatedTrustDomains: ['partner.test'],
      endpoints: [
        { address: 'unix:///tmp/a.sock', ids: [A, 'spiffe://partner.test/x'] },
        { address: 'tcp://127.0.0.1:0', ids: [B, A] },
        { address: 'unix:///tmp/none.sock', ids: [] },
      ],
      rotateEveryMs: 60_000,
      svidTtlMs: 7_200_000,
      jwtTtlMs: 90_000,
      intermediate: true,
    });
  });

  it('defaults: no rotation, SVIDs 1 h, JWT-SVIDs 5 min, no intermediate', () => {
    expect(parseDevIdentityArgs(['--trust-domain', 'example.org', '--serve', `tcp://127.0.0.1:0=${A}`])).toMatchObject({
      rotateEveryMs: 0,
      svidTtlMs: 3_600_000,
      jwtTtlMs: 300_000,
      intermediate: false,
    });
  });

  it.each([
    [['--serve', `tcp://127.0.0.1:0=${A}`], '--trust-domain is required'],
    [['--trust-domain', 'Example.org', '--serve', `tcp://127.0.0.1:0=${A}`], '--trust-domain: trust domain characters'],
    [['--trust-domain', 'example.org'], 'nothing to serve'],
    [['--trust-domain', 'example.org', '--bogus'], "Unknown option '--bogus'"],
    [['--trust-domain', 'example.org', '--serve', A], '--serve: expected ADDR=ID'],
    [['--trust-domain', 'example.org', '--serve', `tcp://localhost:1=${A}`], '--serve: invalid listen address'],
    [['--trust-domain', 'example.org', '--serve', `unix://rel/x.sock=${A}`], '--serve: invalid listen address'],
    [['--trust-domain', 'example.org', '--serve', 'tcp://127.0.0.1:0=spiffe://other.test/a'], '--serve: "spiffe://other.test/a" is not in'],
    [['--trust-domain', 'example.org', '--serve', 'tcp://127.0.0.1:0=spiffe://example.org'], 'is a trust domain ID'],
    [['--trust-domain', 'example.org', '--serve', 'tcp://127.0.0.1:0=example.org/a'], '--serve: scheme is missing or invalid'],
    [['--trust-domain', 'example.org', '--id', A], '--id needs --socket'],
    [['--trust-domain', 'example.org', '--socket', 'tcp://127.0.0.1:0'], '--socket needs at least one --id'],
    [['--trust-domain', 'example.org', '--federate', 'example.org', '--socket', 'tcp://127.0.0.1:0', '--id', A], '--federate: a trust domain is given twice'],
    [['--trust-domain', 'example.org', '--serve', `tcp://127.0.0.1:1=${A}`, '--no-identity', 'tcp://127.0.0.1:1'], 'socket tcp://127.0.0.1:1 is given twice'],
    [['--trust-domain', 'example.org', '--serve', `tcp://127.0.0.1:0=${A}`, '--rotate-every', '60'], '--rotate-every: invalid duration "60"'],
  ])('%j → UsageError naming the problem', (argv, message) => {
    expect(() => parseDevIdentityArgs(argv)).toThrow(UsageError);
    expect(() => parseDevIdentityArgs(argv)).toThrow(message);
  });

  it('parses durations with a unit', () => {
    expect([parseDuration('500ms'), parseDuration('30s'), parseDuration('1.5m'), parseDuration('1h')]).toEqual([500, 30_000, 90_000, 3_600_000]);
    expect(() => parseDuration('1 day')).toThrow('invalid duration');
  });
});

describe('toolgate main', () => {
  const context = (signal = new AbortController().signal) => {
    const out: string[] = [];
    const err: string[] = [];
    const ctx: CliContext = { stdout: (l) => out.push(l), stderr: (l) => err.push(l), signal };
    return { ctx, out, err };
  };

  it('lists the commands for --help and exits 2 for an unknown command', async () => {
    const help = context();
    expect(await main(['--help'], help.ctx)).toBe(0);
    expect(help.out.join('\n')).toContain('dev-identity');
    const unknown = context();
    expect(await main(['nope'], unknown.ctx)).toBe(2);
    expect(unknown.err.join('\n')).toContain('unknown command "nope"');
  });

  it('exits 2 with the flag named for bad dev-identity arguments', async () => {
    const { ctx, err } = context();
    expect(await main(['dev-identity', '--trust-domain', 'example.org', '--rotate-every', 'soon', '--serve', `tcp://127.0.0.1:0=${A}`], ctx)).toBe(2);
    expect(err[0]).toBe('toolgate dev-identity: --rotate-every: invalid duration "soon" (use e.g. 500ms, 30s, 5m, 1h)\nRun `toolgate dev-identity --help` for usage.');
  });

  it('runs dev-identity until the signal aborts, printing sockets and IDs but no key material', async () => {
    const controller = new AbortController();
    const { ctx, out } = context(controller.signal);
    const running = runDevIdentity(['--trust-domain', 'example.org', '--serve', `tcp://127.0.0.1:0=${A}`], {
      ...ctx,
      stdout: (line) => {
        out.push(line);
        if (line.startsWith('stop with')) controller.abort();
      },
    });
    expect(await running).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(new RegExp(`tcp://127\\.0\\.0\\.1:[1-9]\\d*  ${A}`));
    expect(text).not.toMatch(/PRIVATE KEY|eyJ/);
    expect(out[out.length - 1]).toBe('stopped');
  });
});
