import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, importJWK } from 'jose';
import { signingKeyCommand } from '../../../src/cli/signing-key';
import { JWKS_PATH, jwksHandler } from '../../../src/credentials/jwks-route';
import { SigningKeys } from '../../../src/tasks/signing-keys';

describe('jwksHandler', () => {
  let server: Server;
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it(`serves the ring's public JWKS at ${JWKS_PATH}, cacheable for 60 s, following rotations`, async () => {
    const keys = await SigningKeys.generate(Date.now);
    server = createServer(jwksHandler(keys));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${JWKS_PATH}`;
    const first = await fetch(url);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('application/jwk-set+json');
    expect(first.headers.get('cache-control')).toMatch(/max-age=60/);
    expect(await first.json()).toEqual(keys.jwks());
    await keys.rotate();
    const body = (await (await fetch(url)).json()) as { keys: Array<Record<string, unknown>> };
    expect(body.keys).toHaveLength(2);
    for (const key of body.keys) expect(key).not.toHaveProperty('d');
  });
});

describe('toolgate signing-key', () => {
  const run = async (argv: string[]) => {
    const out: string[] = [];
    const code = await signingKeyCommand.run(argv, { stdout: (l) => out.push(l), stderr: () => undefined, signal: new AbortController().signal });
    return { code, out };
  };

  it('prints a new EC P-256 private JWK whose kid is its RFC 7638 thumbprint', async () => {
    const { code, out } = await run([]);
    expect(code).toBe(0);
    expect(out).toHaveLength(1);
    const jwk = JSON.parse(out[0]!);
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(typeof jwk.d).toBe('string');
    expect(jwk.kid).toBe(await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }));
    await expect(importJWK(jwk, 'ES256')).resolves.toBeDefined();
    expect((await run([])).out[0]).not.toBe(out[0]);
  });

  it('prints a JWK Set with --set, and refuses other arguments', async () => {
    const { out } = await run(['--set']);
    expect(JSON.parse(out[0]!).keys).toHaveLength(1);
    await expect(run(['--bogus'])).rejects.toThrow(/bogus/);
    await expect(run(['extra'])).rejects.toThrow(/unexpected argument/);
    expect(signingKeyCommand.usage).toMatch(/Usage: toolgate signing-key/);
  });
});
