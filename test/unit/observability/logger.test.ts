import { mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createRecordDestination, LogDestinationError } from '../../../src/observability/logger';

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

describe("createRecordDestination (the decision log's)", () => {
  const settle = () => new Promise((r) => setTimeout(r, 400));

  it('writes every line, in order and byte for byte (non-ASCII too), in batches within the flush interval; reopen follows a rotation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-records-'));
    const path = join(dir, 'decisions.log');
    const sink = createRecordDestination(path);
    const lines = Array.from({ length: 3000 }, (_, i) => `{"seq":${i},"reason":"caf\u00e9 ☕ ${'x'.repeat(i % 700)}"}\n`);
    for (const line of lines) sink.write(line);
    await settle();
    expect(readFileSync(path, 'utf8')).toBe(lines.join(''));
    // A rotation renames the file; after reopen the next lines go to a new file at the path.
    renameSync(path, `${path}.1`);
    sink.reopen();
    sink.write('{"seq":"after"}\n');
    await settle();
    expect(readFileSync(path, 'utf8')).toBe('{"seq":"after"}\n');
    expect(readFileSync(`${path}.1`, 'utf8')).toBe(lines.join(''));
  });

  it('names the path when the file cannot be opened', () => {
    const path = join(tmpdir(), 'no-such-dir-toolgate', 'decisions.log');
    expect(() => createRecordDestination(path)).toThrow(new LogDestinationError(`cannot open log destination "${path}": ENOENT`));
  });
});
