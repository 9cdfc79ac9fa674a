import Ajv from 'ajv';
import { configSchema, DEFAULTS } from '../../../src/config';

describe('configSchema', () => {
  it('is plain JSON (the Helm chart ships it as values.schema.json) and a valid draft-07 schema', () => {
    const json = JSON.parse(JSON.stringify(configSchema));
    expect(json).toEqual(configSchema);
    expect(json.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(new Ajv({ allowUnionTypes: true }).validateSchema(json)).toBe(true);
  });

  it('documents the defaults the loader applies', () => {
    const p = configSchema.properties;
    expect(p.listen.default).toBe(DEFAULTS.listen);
    expect(p.admin.default).toBe(DEFAULTS.admin);
    expect(p.limits.properties.maxMessageBytes.default).toBe(4 * 1024 * 1024);
    expect(p.drainTimeoutSeconds.default).toBe(15);
    expect(p.decisionLog.properties.destination.default).toBe('stdout');
    expect(p.logLevel.default).toBe('info');
  });
});
