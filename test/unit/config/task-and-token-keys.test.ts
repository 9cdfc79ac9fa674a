import { configErrors, FIXTURES } from './support/config-errors';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseConfig } from '../../../src/config';
import { redisUrlOf } from '../../../src/config/resolve-credentials';

const BASE = `spiffe: { trustDomains: [example.org] }
policies: policies
upstreams:
  - { name: files, services: [tools.files.v1.Files], address: 127.0.0.1:7001, spiffeId: spiffe://example.org/tools/files }
`;

describe('config keys of tasks, credentials, shared state and workload tokens', () => {
  it('defaults: a 1 h TTL cap, 32 open tasks per caller, generated keys rotated daily, 60 s upstream tokens reused for 5 s, state in memory, no token listener', () => {
    const config = parseConfig(BASE, FIXTURES);
    expect(config.tasks).toEqual({ maxTtlSeconds: 3600, maxOpenPerCaller: 32 });
    expect(config.credentials).toEqual({ rotateSeconds: 86400, upstreamTokenTtlSeconds: 60, upstreamTokenReuseSeconds: 5 });
    expect(config.state).toEqual({});
    expect(config.limits.agentRate).toBeUndefined();
    expect(config.workloadTokens).toBeUndefined();
    expect(config.onBehalfOf).toBeUndefined();
  });

  it('caps the default reuse of an upstream token below a short ttl: it never lasts as long as the token', () => {
    expect(parseConfig(`${BASE}credentials: { upstreamTokenTtlSeconds: 3 }\n`, FIXTURES).credentials.upstreamTokenReuseSeconds).toBe(2);
    expect(parseConfig(`${BASE}credentials: { upstreamTokenTtlSeconds: 1 }\n`, FIXTURES).credentials.upstreamTokenReuseSeconds).toBe(0);
  });

  it('takes every key, files resolved against the config folder', () => {
    const config = parseConfig(
      `${BASE}tasks: { maxTtlSeconds: 900, maxOpenPerCaller: 4 }
credentials: { signingKeyFile: toolgate.yaml, rotateSeconds: 600, upstreamTokenTtlSeconds: 30, upstreamTokenReuseSeconds: 0 }
limits: { agentRate: { perSecond: 0.5, burst: 3 } }
state: { redis: { urlEnv: REDIS_URL, keyPrefix: "tg:" } }
workloadTokens:
  listen: 127.0.0.1:8444
  oidc: [{ issuer: "https://oidc.example", audience: toolgate, jwksUri: "https://oidc.example/keys", trustDomain: k8s.example }]
onBehalfOf: { issuer: "https://login.example", audience: users, jwksFile: toolgate.yaml }
`,
      FIXTURES,
    );
    expect(config.tasks).toEqual({ maxTtlSeconds: 900, maxOpenPerCaller: 4 });
    expect(config.credentials).toEqual({ signingKeyFile: join(FIXTURES, 'toolgate.yaml'), rotateSeconds: 600, upstreamTokenTtlSeconds: 30, upstreamTokenReuseSeconds: 0 });
    expect(config.limits.agentRate).toEqual({ perSecond: 0.5, burst: 3 });
    // The URL itself is read from the environment at start, never kept in the config.
    expect(config.state.redis).toEqual({ urlEnv: 'REDIS_URL', keyPrefix: 'tg:' });
    expect(redisUrlOf(config.state.redis!, { REDIS_URL: 'redis://:secret@10.0.0.5:6379/2' })).toBe('redis://:secret@10.0.0.5:6379/2');
    expect(() => redisUrlOf(config.state.redis!, {})).toThrow('state.redis.urlEnv: environment variable REDIS_URL is not set');
    expect(config.workloadTokens).toMatchObject({ listen: { host: '127.0.0.1', port: 8444 }, jwtSvid: true });
    expect(config.workloadTokens!.oidc[0]!.trustDomain.name).toBe('k8s.example');
    expect(config.onBehalfOf).toEqual({ issuer: 'https://login.example', audience: 'users', jwksFile: join(FIXTURES, 'toolgate.yaml') });
  });

  it('names the key of each bad value, and never prints a Redis URL', () => {
    expect(configErrors(`${BASE}tasks: { maxOpenPerCaller: 0 }\n`)).toEqual(['toolgate.yaml:5: tasks.maxOpenPerCaller: must be at least 1, not 0']);
    expect(configErrors(`${BASE}credentials: { upstreamTokenTtlSeconds: 61, signingKeyFile: nowhere.jwk }\n`)).toEqual([
      'toolgate.yaml:5: credentials.upstreamTokenTtlSeconds: must be at most 60, not 61',
      `toolgate.yaml:5: credentials.signingKeyFile: file not found: ${join(FIXTURES, 'nowhere.jwk')}`,
    ]);
    expect(configErrors(`${BASE}credentials: { upstreamTokenReuseSeconds: 60 }\n`)).toEqual(['toolgate.yaml:5: credentials.upstreamTokenReuseSeconds: must be at most 59, not 60']);
    expect(configErrors(`${BASE}credentials: { upstreamTokenTtlSeconds: 10, upstreamTokenReuseSeconds: 10 }\n`)).toEqual([
      'toolgate.yaml:5: credentials.upstreamTokenReuseSeconds: must be less than upstreamTokenTtlSeconds (10), not 10',
    ]);
    const redis = configErrors(`${BASE}state: { redis: { url: "http://:secret@host" } }\n`);
    expect(redis).toEqual(['toolgate.yaml:5: state.redis.url: must be a redis://, rediss:// or unix:/// URL']);
    expect(configErrors(`${BASE}state: { redis: { url: "redis://a", urlEnv: X } }\n`)).toEqual(['toolgate.yaml:5: state.redis: set exactly one of url and urlEnv']);
  });

  it('checks, when it reads the environment (toolgate check, run), that the Redis URL variable is set and holds a Redis URL', () => {
    const dir = mkdtempSync(join(tmpdir(), 'toolgate-config-'));
    try {
      const file = join(dir, 'toolgate.yaml');
      writeFileSync(file, BASE.replace('policies: policies', `policies: ${join(FIXTURES, 'policies')}`) + 'state: { redis: { urlEnv: REDIS_URL } }\n');
      const message = (env: NodeJS.ProcessEnv) => {
        try {
          loadConfig(file, env);
          return 'accepted';
        } catch (err) {
          return (err as Error).message;
        }
      };
      expect(message({})).toContain('state.redis.urlEnv: environment variable REDIS_URL is not set');
      const bad = message({ REDIS_URL: 'http://:hunter2@x' });
      expect(bad).toContain('state.redis.urlEnv: REDIS_URL must hold a redis://, rediss:// or unix:/// URL');
      expect(bad).not.toContain('hunter2');
      expect(message({ REDIS_URL: 'unix:///run/redis.sock' })).toBe('accepted');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a JWKS over plain http off loopback, and an issuer with two or no JWKS', () => {
    const issuer = (jwks: string) => `${BASE}workloadTokens:\n  listen: 127.0.0.1:0\n  oidc: [{ issuer: i, audience: a, trustDomain: k8s.example, ${jwks} }]\n`;
    expect(configErrors(issuer('jwksUri: "http://keys.example/jwks"'))).toEqual([
      'toolgate.yaml:7: workloadTokens.oidc[0].jwksUri: invalid JWKS URL "http://keys.example/jwks": must be https (http only on 127.0.0.1, [::1] or localhost)',
    ]);
    expect(parseConfig(issuer('jwksUri: "http://127.0.0.1:8080/jwks"'), FIXTURES).workloadTokens!.oidc[0]!.jwksUri).toBe('http://127.0.0.1:8080/jwks');
    expect(configErrors(issuer('jwksUri: "https://k/jwks", jwksFile: toolgate.yaml'))).toEqual([
      'toolgate.yaml:7: workloadTokens.oidc[0]: set exactly one of jwksUri and jwksFile',
    ]);
    expect(configErrors(`${BASE}workloadTokens: { listen: 127.0.0.1:0, jwtSvid: false }\n`)).toEqual([
      'toolgate.yaml:5: workloadTokens: accepts no token: enable jwtSvid or list an oidc issuer',
    ]);
  });

  it('refuses an OIDC trust domain shared with SPIFFE callers or another issuer: the issuer could mint their identities', () => {
    const issuers = (a: string, b: string) =>
      `${BASE}workloadTokens:\n  listen: 127.0.0.1:0\n  oidc:\n    - { issuer: i1, audience: a, jwksFile: toolgate.yaml, trustDomain: ${a} }\n    - { issuer: i2, audience: a, jwksFile: toolgate.yaml, trustDomain: ${b} }\n`;
    expect(configErrors(issuers('example.org', 'k8s.example'))).toEqual([
      'toolgate.yaml:8: workloadTokens.oidc[0].trustDomain: trust domain "example.org" is also in spiffe.trustDomains: an OIDC issuer could mint the identities of SPIFFE callers',
    ]);
    expect(configErrors(issuers('k8s.example', 'k8s.example'))).toEqual([
      'toolgate.yaml:9: workloadTokens.oidc[1].trustDomain: trust domain "k8s.example" is used by another OIDC issuer: each issuer needs one of its own',
    ]);
    // Identity rules may map callers of an OIDC trust domain.
    const mapped = parseConfig(
      `${issuers('k8s.example', 'ci.example')}identities:\n  - { spiffeIdPrefix: "spiffe://k8s.example/system/serviceaccount/tools/", groups: [k8s] }\n`,
      FIXTURES,
    );
    expect(mapped.identities).toHaveLength(1);
  });
});
