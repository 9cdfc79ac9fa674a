import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CHART, compileValuesSchema, defaultValues, examples, expectedConfigSchema, mergeValues, SCHEMA_FILE, type Values, valuesSchema } from './chart';

/*
 * values.schema.json: Helm validates the merged values against it on install, upgrade, lint
 * and template. Its `config` section is generated from the gateway's configSchema: run
 *   UPDATE_HELM_SCHEMA=1 npx jest test/unit/deploy
 * after changing src/config/schema.ts, and commit the result.
 */

if (process.env.UPDATE_HELM_SCHEMA === '1') {
  const schema = valuesSchema();
  (schema.properties as Record<string, unknown>).config = expectedConfigSchema();
  writeFileSync(SCHEMA_FILE, JSON.stringify(schema, null, 2) + '\n');
}

let compiled: ReturnType<typeof compileValuesSchema> | undefined;
function errorsOf(values: Values): string[] {
  const validate = (compiled ??= compileValuesSchema());
  return validate(values) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}

describe('values.schema.json', () => {
  it("has the gateway's own config schema as its config section (generated, not copied)", () => {
    const config = (valuesSchema().properties as Record<string, unknown>).config;
    // On failure: UPDATE_HELM_SCHEMA=1 npx jest test/unit/deploy
    expect(config).toEqual(expectedConfigSchema());
  });

  it('closes every object it describes (unknown keys are errors), except Kubernetes pass-throughs', () => {
    const open: string[] = [];
    const walk = (s: unknown, path: string): void => {
      if (typeof s !== 'object' || s === null) return;
      const node = s as Record<string, unknown>;
      if (node.properties && node.additionalProperties !== false) open.push(path);
      for (const [k, v] of Object.entries((node.properties as Record<string, unknown>) ?? {})) walk(v, `${path}.${k}`);
    };
    walk(valuesSchema(), '');
    expect(open).toEqual([]);
  });

  it('accepts the default values', () => {
    expect(errorsOf(defaultValues())).toEqual([]);
  });

  it.each(examples())('accepts the example %s merged over the defaults', (_name, example) => {
    expect(errorsOf(mergeValues(defaultValues(), example))).toEqual([]);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['an unknown top-level key', 'replicas: 3', /additionalProperty.*replicas/],
    ['an unknown nested key', 'image: { tga: "1.0" }', /additionalProperty.*tga/],
    ['a wrong type', 'replicaCount: two', /\/replicaCount must be integer/],
    ['a wrong type (boolean)', 'serviceAccount: { create: "yes" }', /\/serviceAccount\/create must be boolean/],
    ['a bad enum', 'workloadApi: { type: socket }', /\/workloadApi\/type must be equal to one of the allowed values/],
    ['an unknown config key', 'config: { lisen: "0.0.0.0:8443" }', /additionalProperty.*lisen/],
    ['a config value of the wrong type', 'config: { drainTimeoutSeconds: "15" }', /\/config\/drainTimeoutSeconds must be number/],
    ['an upstream without its SPIFFE ID', 'config: { upstreams: [{ name: files, services: [a.B], address: "a:1" }] }', /missingProperty.*spiffeId/],
    ['an unknown signingKey key', 'signingKey: { secretName: toolgate-signing-key }', /additionalProperty.*secretName/],
    ['a signing key Secret key that is no Secret key', 'signingKey: { existingSecretKey: "a/b.json" }', /\/signingKey\/existingSecretKey must match pattern/],
    ['an unknown checkpointKey key', 'checkpointKey: { secretName: toolgate-checkpoint-key }', /additionalProperty.*secretName/],
    ['a checkpoint key Secret key that is no Secret key', 'checkpointKey: { existingSecretKey: "" }', /\/checkpointKey\/existingSecretKey must NOT have fewer than 1 characters/],
    ['a token Service port out of range', 'service: { tokensPort: 70000 }', /\/service\/tokensPort must be <= 65535/],
    ['an appProtocol that is no protocol name', 'service: { appProtocol: "HTTP 2" }', /\/service\/appProtocol must match pattern/],
    ['a relative mount path', 'policies: { mountPath: etc/policies }', /\/policies\/mountPath must match pattern/],
    ['a PDB count that is neither a number nor a percentage', 'podDisruptionBudget: { minAvailable: many }', /minAvailable/],
  ];
  it.each(bad)('rejects %s', (_what, yaml, expected) => {
    const errors = errorsOf(mergeValues(defaultValues(), parse(yaml) as Values));
    expect(errors.join('\n')).toMatch(expected);
  });

  it('is valid JSON with a draft-07 header (Chart.yaml and the examples parse too)', () => {
    expect(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')).$schema).toBe('http://json-schema.org/draft-07/schema#');
    const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as Record<string, string>;
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'toolgate', type: 'application' });
    expect(chart.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(chart.appVersion).toBe(JSON.parse(readFileSync(join(CHART, '../../../package.json'), 'utf8')).version);
    expect(chart.kubeVersion).toBeTruthy();
  });
});
