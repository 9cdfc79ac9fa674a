import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { main } from '../../../src/cli/main';
import { parseConfig } from '../../../src/config/load-config';
import { newSigningJwk } from '../../../src/cli/signing-key';
import { NoteSigner } from '../../../src/observability/signed-note';
import { CHART, chartConfig, CHECKPOINT_KEY_FILE, defaultValues, examples, isMap, mergeValues, REDIS_URL_ENV, ROOT, SIGNING_KEY_FILE, type Values } from './chart';

/*
 * The `config` of the default values and of each example, rendered as YAML as the chart's
 * ConfigMap does (toYaml), is accepted by the gateway's own loader and by `toolgate check`
 * (policies parsed and validated against their schema, protos loaded), in a temp folder
 * laid out like the pod: the absolute mount paths (/etc/toolgate/...) are re-rooted under it,
 * the policy folder holds `policies.files` (or the chart's files/example-policies when that
 * is empty, as configmap-policies.yaml does) and the protos folder `protos.files`. Where a
 * values file names an existing ConfigMap instead, its documented source stands in:
 * policies/ and proto/examples/ of this repository (see examples/existing-configmaps.yaml).
 * The config is the one the chart renders (chartConfig: plus credentials.signingKeyFile,
 * decisionLog.checkpointKeyFile and state.redis.urlEnv when signingKey/checkpointKey/redis are
 * set); the pod's signing key Secret is a fresh `toolgate signing-key` JWK Set at that path, its
 * checkpoint key Secret a fresh `toolgate audit key` signer key at its own, and $TOOLGATE_REDIS_URL is set as the chart's
 * env would. The chart's own render-time rules (the `fail`s in _helpers.tpl) are mirrored too.
 */

const MOUNT_ROOT = '/etc/toolgate/';
/** Mounts outside MOUNT_ROOT, re-rooted too. */
const MOUNTS = [MOUNT_ROOT, '/var/run/secrets/toolgate-'];
const cases: Array<[string, Values]> = [['values.yaml (defaults)', defaultValues()], ...examples().map(([name, ex]): [string, Values] => [name, mergeValues(defaultValues(), ex)])];

function reroot(value: unknown, root: string): unknown {
  if (typeof value === 'string' && MOUNTS.some((m) => value.startsWith(m))) return join(root, value);
  if (Array.isArray(value)) return value.map((v) => reroot(v, root));
  if (isMap(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reroot(v, root)]));
  return value;
}

function writeFolder(dir: string, files: unknown, fallback: string, pick: (f: string) => boolean): void {
  mkdirSync(dir, { recursive: true });
  if (isMap(files) && Object.keys(files).length > 0) {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), String(content));
  } else {
    for (const f of readdirSync(fallback).filter(pick)) copyFileSync(join(fallback, f), join(dir, f));
  }
}

async function check(file: string): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await main(['check', '--config', file], { stdout: (l) => lines.push(l), stderr: (l) => lines.push(l), signal: new AbortController().signal });
  return { code, out: lines.join('\n') };
}

describe('the config in the chart values', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it.each(cases)('%s: is accepted by parseConfig and `toolgate check`', async (_name, values) => {
    const root = mkdtempSync(join(tmpdir(), 'tg-helm-'));
    dirs.push(root);
    const policies = values.policies as Values;
    const protos = values.protos as Values;
    // policies.files; else the chart's example set (files/example-policies); with an
    // existing ConfigMap, the repository's policies/ it is documented to be made from.
    const policySource = policies.existingConfigMap ? join(ROOT, 'policies') : join(CHART, 'files/example-policies');
    writeFolder(join(root, policies.mountPath as string), policies.existingConfigMap ? {} : policies.files, policySource, (f) => /\.(cedar|cedarschema)$/.test(f));
    if (protos.existingConfigMap || Object.keys(protos.files as Values).length > 0) {
      writeFolder(join(root, protos.mountPath as string), protos.existingConfigMap ? {} : protos.files, join(ROOT, 'proto/examples'), (f) => f.endsWith('.proto'));
    }
    const configDir = join(root, MOUNT_ROOT, 'config');
    mkdirSync(configDir, { recursive: true });
    const config = chartConfig(values);
    if ((values.signingKey as Values).existingSecret) writeFileSync(join(root, SIGNING_KEY_FILE), JSON.stringify({ keys: [await newSigningJwk()] }));
    if ((values.checkpointKey as Values).existingSecret) {
      mkdirSync(join(root, dirname(CHECKPOINT_KEY_FILE)), { recursive: true });
      writeFileSync(join(root, CHECKPOINT_KEY_FILE), `${NoteSigner.generate('toolgate-decisions-prod').signerKey}\n`);
    }
    const text = stringify(reroot(config, root));
    const file = join(configDir, 'toolgate.yaml');
    writeFileSync(file, text);

    const saved = process.env[REDIS_URL_ENV];
    if ((values.redis as Values).enabled) process.env[REDIS_URL_ENV] = 'rediss://:secret@redis.data.svc.cluster.local:6380/0';
    try {
      expect(() => parseConfig(text, configDir, 'toolgate.yaml')).not.toThrow();
      const { code, out } = await check(file);
      expect(out).toMatch(/OK \(/);
      expect(code).toBe(0);
    } finally {
      if (saved === undefined) delete process.env[REDIS_URL_ENV];
      else process.env[REDIS_URL_ENV] = saved;
    }
  });

  it.each(cases)("%s: follows the chart's rules on top of the config file's", (name, values) => {
    const config = values.config as Values;
    // admin on all interfaces (kubelet probes and scrapes use the pod IP).
    expect(config.admin).toMatch(/^(0\.0\.0\.0|\[::\]):\d+$/);
    // SIGKILL must not cut the drain.
    const drain = (config.drainTimeoutSeconds as number | undefined) ?? 15;
    expect(values.terminationGracePeriodSeconds as number).toBeGreaterThan(drain);
    // The policy folder is the mounted ConfigMap, the protos are in the mounted one.
    expect(config.policies).toBe((values.policies as Values).mountPath);
    for (const u of config.upstreams as Values[]) {
      for (const p of (u.protos as string[] | undefined) ?? []) expect(p.startsWith(`${(values.protos as Values).mountPath}/`)).toBe(true);
      // An MCP tool catalog reloads with the policies ConfigMap (the protos one rolls the pods).
      const catalog = (u.mcp as Values | undefined)?.tools as string | undefined;
      if (catalog !== undefined) expect(catalog.startsWith(`${(values.policies as Values).mountPath}/`)).toBe(true);
    }
    // The chart sets $SPIFFE_ENDPOINT_SOCKET; the examples do not override it.
    expect((config.spiffe as Values | undefined)?.endpointSocket).toBeUndefined();
    // Three listeners, three ports.
    const ports = [config.listen ?? '0.0.0.0:8443', config.admin, (config.workloadTokens as Values | undefined)?.listen]
      .filter((a): a is string => typeof a === 'string')
      .map((a) => a.split(':').at(-1));
    expect(new Set(ports).size).toBe(ports.length);
    // The chart wires the signing key, the checkpoint key and the Redis URL itself: no conflicting config.
    expect(() => chartConfig(values)).not.toThrow();
    // Several replicas: tasks need Redis AND a shared key (NOTES.txt warns otherwise), so a
    // values file running several replicas sets both or neither (plain calls only), never half.
    const multi = (values.autoscaling as Values).enabled === true || (values.replicaCount as number) > 1;
    const rendered = chartConfig(values);
    const shared = [(rendered.state as Values | undefined)?.redis !== undefined, (rendered.credentials as Values | undefined)?.signingKeyFile !== undefined];
    if (multi) expect(`${name}: ${shared.join(',')}`).toMatch(/: (true,true|false,false)$/);
    // decisionLog on a read-only root filesystem: stdout only.
    expect(((config.decisionLog as Values | undefined)?.destination as string | undefined) ?? 'stdout').toBe('stdout');
  });
});
