import { Writable } from 'node:stream';
import pino from 'pino';
import { parseTraceSpec, TRACE_COMPONENTS, Tracing } from '../../../src/observability/trace';

function capture(level = 'info') {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { base: null, level },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
        done();
      },
    }),
  );
  return { logger, lines };
}

describe('tracing', () => {
  it('reads TOOLGATE_TRACE: names separated by commas, any case and spacing, `all`, and unknown names set apart', () => {
    expect(parseTraceSpec(undefined)).toEqual({ components: [], unknown: [] });
    expect(parseTraceSpec('')).toEqual({ components: [], unknown: [] });
    expect(parseTraceSpec(' Relay, policy ,,tls')).toEqual({ components: ['policy', 'relay', 'tls'], unknown: [] });
    expect(parseTraceSpec('relay,cedar')).toEqual({ components: ['relay'], unknown: ['cedar'] });
    expect(parseTraceSpec('all')).toEqual({ components: [...TRACE_COMPONENTS], unknown: [] });
  });

  it('gives an untraced component no trace, so that a trace point builds nothing', () => {
    const { logger, lines } = capture('trace');
    const tracing = new Tracing(logger, ['relay']);
    let built = 0;
    const fields = () => {
      built++;
      return { expensive: true };
    };
    const trace = tracing.for('policy');
    expect(trace).toBeUndefined();
    trace?.debug(fields(), 'not written');
    Tracing.off.for('relay')?.debug(fields(), 'not written');
    expect(built).toBe(0);
    expect(lines).toEqual([]);
  });

  it('writes a traced component at debug, named, whatever the log level', async () => {
    const { logger, lines } = capture('info');
    const tracing = new Tracing(logger, ['relay']);
    tracing.for('relay')?.debug({ decisionId: 'd-1' }, 'relayed call ended');
    logger.debug('an ordinary debug line stays filtered');
    await new Promise((r) => setImmediate(r));
    expect(lines).toEqual([expect.objectContaining({ level: 20, trace: 'relay', decisionId: 'd-1', msg: 'relayed call ended' })]);
    expect(tracing.components).toEqual(['relay']);
  });
});
