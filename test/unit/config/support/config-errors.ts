import { resolve } from 'node:path';
import { ConfigError, parseConfig } from '../../../../src/config';

/** A folder with a `policies/` and protos, for configs that name them by relative path. */
export const FIXTURES = resolve(__dirname, '../../../fixtures/config');

/** The lines of the ConfigError a config text is rejected with, as if read from FIXTURES/toolgate.yaml. */
export function configErrors(text: string): string[] {
  try {
    parseConfig(text, FIXTURES, 'toolgate.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('ERR_CONFIG');
    return (err as Error).message.split('\n');
  }
  throw new Error('expected the config to be rejected');
}
