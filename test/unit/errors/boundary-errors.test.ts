import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ToolgateError } from '../../../src/errors/toolgate-error';
import { InvalidValueError } from '../../../src/errors/invalid-value-error';
import { parseDuration } from '../../../src/cli/duration';
import { ConfigError } from '../../../src/config/config-error';
import { existingFile } from '../../../src/config/file-paths';
import { redisUrlOf } from '../../../src/config/resolve-credentials';
import { readSigningKeyFile, SigningKeyFileError } from '../../../src/credentials/key-ring';
import { OidcIssuer, parseJwksUri } from '../../../src/identity/oidc-issuer';
import { checkTokenBucket } from '../../../src/limits/token-bucket';
import { createLogger, LogDestinationError } from '../../../src/observability/logger';
import { PolicyError } from '../../../src/policy/errors';
import { readPolicyTestFile } from '../../../src/policy/policy-test-file';
import { parseHostPort } from '../../../src/net/host-port';
import { decompress } from '../../../src/relay/decompress';
import { MessageDecodeError } from '../../../src/relay/exact-decode';

/** What `fn` throws (or rejects with). */
async function thrown(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

function message(payload: Buffer, compressedFlag: number): { frame: Buffer; payload: Buffer; compressed: boolean } {
  const frame = Buffer.concat([Buffer.from([compressedFlag, 0, 0, 0, payload.length]), payload]);
  return { frame, payload, compressed: compressedFlag === 1 };
}

describe('errors at the boundaries carry a code, the message operators read, and the cause', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-errors-'));

  it('a value that cannot be used is an InvalidValueError saying why', async () => {
    const cases: [() => unknown, string][] = [
      [() => parseHostPort('nope', { allowPortZero: false }), 'expected host:port'],
      [() => existingFile('missing.json', dir), `file not found: ${join(dir, 'missing.json')}`],
      [() => parseDuration('5'), 'invalid duration "5" (use e.g. 500ms, 30s, 5m, 1h)'],
      [() => checkTokenBucket({ ratePerSecond: 0, burst: 1 }), 'rate limit ratePerSecond must be a number > 0, not 0'],
      [() => parseJwksUri('http://idp.example/keys'), 'must be https (http only on 127.0.0.1, [::1] or localhost)'],
      [
        () => new OidcIssuer({ issuer: 'https://idp.example', audience: 'gw', jwksUri: 'http://idp.example/keys' }),
        'OIDC issuer https://idp.example: jwksUri must be https (http only on 127.0.0.1, [::1] or localhost)',
      ],
    ];
    for (const [fn, text] of cases) {
      const err = await thrown(fn);
      expect(err).toBeInstanceOf(InvalidValueError);
      expect(err).toMatchObject({ code: 'ERR_INVALID_VALUE', message: text });
    }
  });

  it('a wrapped value keeps what it wraps as the cause', async () => {
    const err = (await thrown(() => new OidcIssuer({ issuer: 'https://idp.example', audience: 'gw', jwksUri: 'not a url' }))) as InvalidValueError;
    expect(err.cause).toBeInstanceOf(InvalidValueError);
    expect((err.cause as Error).message).toBe('not a URL');
  });

  it('a config problem found at start is a ConfigError naming the key', async () => {
    const err = await thrown(() => redisUrlOf({ urlEnv: 'TG_REDIS_URL', keyPrefix: 'tg:' }, {}));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({
      code: 'ERR_CONFIG',
      source: '',
      issues: [{ path: 'state.redis.urlEnv', message: 'environment variable TG_REDIS_URL is not set' }],
      message: 'state.redis.urlEnv: environment variable TG_REDIS_URL is not set',
    });
  });

  it('a request message that cannot be read is a MessageDecodeError', async () => {
    const flag = await thrown(() => decompress(message(Buffer.from('x'), 2), undefined, 1024));
    expect(flag).toBeInstanceOf(MessageDecodeError);
    expect(flag).toMatchObject({ code: 'ERR_MESSAGE_DECODE', message: 'compressed-flag byte 2 (gRPC defines 0 and 1)' });
    const corrupt = (await thrown(() => decompress(message(gzipSync('hello').subarray(0, 12), 1), 'gzip', 1024))) as MessageDecodeError;
    expect(corrupt).toBeInstanceOf(MessageDecodeError);
    expect(corrupt.message).toMatch(/^cannot decompress a gzip message: /);
    expect(corrupt.cause).toMatchObject({ code: expect.stringMatching(/^Z_/) });
    const unknown = await thrown(() => decompress(message(Buffer.from('x'), 1), 'snappy', 1024));
    expect(unknown).toMatchObject({ code: 'ERR_MESSAGE_DECODE', message: 'compressed message with unsupported grpc-encoding "snappy"' });
  });

  it('a policy test file that cannot be read or used is a PolicyError ERR_POLICY_TEST', async () => {
    const missing = join(dir, 'missing.test.yaml');
    const unread = (await thrown(() => readPolicyTestFile(missing))) as PolicyError;
    expect(unread).toBeInstanceOf(PolicyError);
    expect(unread).toMatchObject({ code: 'ERR_POLICY_TEST', message: `cannot read ${missing}: file not found` });
    expect(unread.cause).toMatchObject({ code: 'ENOENT' });
    const bad = join(dir, 'bad.test.yaml');
    writeFileSync(bad, 'bogus: 1\n');
    const unusable = (await thrown(() => readPolicyTestFile(bad))) as PolicyError;
    expect(unusable.code).toBe('ERR_POLICY_TEST');
    const problems = [`${bad}: cases: must be a non-empty list of test cases`, `${bad}:1: bogus: unknown key (expected config, cases)`];
    expect(unusable.problems).toEqual(problems);
    expect(unusable.message).toBe(`${bad} cannot be used:\n  ${problems.join('\n  ')}`);
  });

  it('a signing key file and a log destination name the path', async () => {
    const keyFile = join(dir, 'missing.jwk');
    const key = (await thrown(() => readSigningKeyFile(keyFile))) as SigningKeyFileError;
    expect(key).toBeInstanceOf(SigningKeyFileError);
    expect(key).toMatchObject({ code: 'ERR_SIGNING_KEY_FILE', file: keyFile, message: `signing key file ${keyFile}: no such file` });
    expect(key.cause).toMatchObject({ code: 'ENOENT' });
    const logFile = join(dir, 'no-such-dir', 'decisions.log');
    const log = (await thrown(() => createLogger({ destination: logFile }))) as LogDestinationError;
    expect(log).toMatchObject({ code: 'ERR_LOG_DESTINATION', name: 'LogDestinationError', message: `cannot open log destination "${logFile}": ENOENT` });
  });

  it('every error above is a ToolgateError', async () => {
    for (const fn of [() => parseDuration('x'), () => redisUrlOf({ urlEnv: 'TG_UNSET', keyPrefix: '' }, {}), () => readPolicyTestFile(join(dir, 'none'))]) {
      expect(await thrown(fn)).toBeInstanceOf(ToolgateError);
    }
  });
});
