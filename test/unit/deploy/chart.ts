import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { configSchema } from '../../../src/config/schema';

/* Shared by the deploy tests: the chart's files, Helm's value merging, the schema validator. */

export const ROOT = resolve(__dirname, '../../..');
export const CHART = join(ROOT, 'deploy/helm/toolgate');
export const SCHEMA_FILE = join(CHART, 'values.schema.json');

export type Values = Record<string, unknown>;

export function readYaml(file: string): unknown {
  return parse(readFileSync(file, 'utf8'), { uniqueKeys: true, prettyErrors: true });
}

export function defaultValues(): Values {
  return readYaml(join(CHART, 'values.yaml')) as Values;
}

/** The documented example values files, by file name. */
export function examples(): Array<[string, Values]> {
  const dir = join(CHART, 'examples');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => [f, readYaml(join(dir, f)) as Values]);
}

export function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Helm's coalescing of user values over the chart's: maps merge key by key, anything else
 * (lists included) replaces, and a null removes the key.
 */
export function mergeValues(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === null) delete out[key];
    else if (isMap(value) && isMap(out[key])) out[key] = mergeValues(out[key] as Values, value);
    else out[key] = value;
  }
  return out;
}

/** Where the chart projects the signing key Secret ("toolgate.signingKeyFile"). */
export const SIGNING_KEY_FILE = '/etc/toolgate/config/signing-key.json';
/** Where the chart mounts the checkpoint key Secret ("toolgate.checkpointKeyFile"): outside the watched config folder. */
export const CHECKPOINT_KEY_FILE = '/var/run/secrets/toolgate-checkpoint/checkpoint.key';
/** The env var the chart passes the Redis URL in ("toolgate.redisUrlEnv"). */
export const REDIS_URL_ENV = 'TOOLGATE_REDIS_URL';

/**
 * The config file the chart renders ("toolgate.config" in _helpers.tpl): `config` as it is,
 * plus credentials.signingKeyFile with signingKey.existingSecret, decisionLog.checkpointKeyFile
 * with checkpointKey.existingSecret and state.redis.urlEnv with redis.enabled. Throws where the
 * template fails on a conflicting value.
 */
export function chartConfig(values: Values): Values {
  const config = JSON.parse(JSON.stringify(values.config ?? {})) as Values;
  const signingKey = values.signingKey as Values;
  const credentials = (isMap(config.credentials) ? config.credentials : {}) as Values;
  if (signingKey.existingSecret) {
    if (credentials.signingKeyFile !== undefined && credentials.signingKeyFile !== SIGNING_KEY_FILE)
      throw new Error('config.credentials.signingKeyFile conflicts with signingKey.existingSecret');
    config.credentials = { ...credentials, signingKeyFile: SIGNING_KEY_FILE };
  } else if (credentials.signingKeyFile === SIGNING_KEY_FILE) {
    throw new Error('config.credentials.signingKeyFile is the chart mount but signingKey.existingSecret is empty');
  }
  const checkpointKey = values.checkpointKey as Values;
  const decisionLog = (isMap(config.decisionLog) ? config.decisionLog : {}) as Values;
  if (checkpointKey.existingSecret) {
    if (decisionLog.checkpointKeyFile !== undefined && decisionLog.checkpointKeyFile !== CHECKPOINT_KEY_FILE)
      throw new Error('config.decisionLog.checkpointKeyFile conflicts with checkpointKey.existingSecret');
    config.decisionLog = { ...decisionLog, checkpointKeyFile: CHECKPOINT_KEY_FILE };
  } else if (decisionLog.checkpointKeyFile === CHECKPOINT_KEY_FILE) {
    throw new Error('config.decisionLog.checkpointKeyFile is the chart mount but checkpointKey.existingSecret is empty');
  }
  if ((values.redis as Values).enabled) {
    const state = (isMap(config.state) ? config.state : {}) as Values;
    const redis = (isMap(state.redis) ? state.redis : {}) as Values;
    if (redis.url !== undefined) throw new Error('config.state.redis.url and redis.enabled both give the URL');
    if (redis.urlEnv !== undefined && redis.urlEnv !== REDIS_URL_ENV) throw new Error('config.state.redis.urlEnv conflicts with redis.enabled');
    config.state = { ...state, redis: { ...redis, urlEnv: REDIS_URL_ENV } };
  }
  return config;
}

/** The `config` section of values.schema.json: the gateway's own schema, without its header. */
export function expectedConfigSchema(): Record<string, unknown> {
  const { $schema: _s, title: _t, ...rest } = JSON.parse(JSON.stringify(configSchema)) as Record<string, unknown>;
  return { ...rest, description: 'The gateway config file (docs/config.md), rendered as-is. Generated from configSchema (src/config/schema.ts).' };
}

export function valuesSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Record<string, unknown>;
}

export function compileValuesSchema(): ReturnType<Ajv['compile']> {
  // Helm validates with draft-07 semantics; union types ("type": ["array", "null"]) are
  // standard JSON Schema, ajv only wants them allowed explicitly.
  return new Ajv({ allErrors: true, allowUnionTypes: true, strict: false }).compile(valuesSchema());
}

/** Every path to a leaf of `value`: scalars, and empty maps and lists. */
export function leafPaths(value: unknown, prefix: string[] = []): string[][] {
  if (isMap(value) && Object.keys(value).length > 0) {
    return Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
  }
  return [prefix];
}
