import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, LogDestinationError } from '../../../src/observability/logger';

describe('createLogger', () => {
  it('names the path when a file destination cannot be opened, instead of letting pino exit the process', () => {
    const path = join(tmpdir(), 'no-such-dir-toolgate', 'decisions.log');
    expect(() => createLogger({ destination: path })).toThrow(new LogDestinationError(`cannot open log destination "${path}": ENOENT`));
  });

  it('writes batched lines within the flush interval, without an explicit flush', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tg-log-')), 'decisions.log');
    const logger = createLogger({ destination: path });
    logger.info({ decisionId: 'd-1', decision: 'allow' });
    await new Promise((r) => setTimeout(r, 400));
    const line = JSON.parse(readFileSync(path, 'utf8').trim());
    expect(line).toMatchObject({ level: 'info', decisionId: 'd-1', decision: 'allow' });
    expect(typeof line.time).toBe('string');
  });
});
