import { once } from 'node:events';
import { SseRewriter } from '../../../src/mcp/sse-rewriter';

/** Feeds `chunks` one at a time and collects what leaves after each. */
function run(rewriter: SseRewriter, chunks: readonly string[]): { afterEach: string[] } {
  const afterEach: string[] = [];
  let out = '';
  rewriter.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  for (const chunk of chunks) {
    rewriter.write(Buffer.from(chunk, 'utf8'));
    afterEach.push(out);
  }
  return { afterEach };
}

describe('SseRewriter', () => {
  it('relays each event as soon as its blank line arrives, unchanged unless rewritten', () => {
    const rewriter = new SseRewriter((data) => (data.includes('"list"') ? '{"list":[]}' : undefined), 1024);
    const { afterEach } = run(rewriter, ['id: 1\ndata: {"progress":1}\n', '\n', 'event: message\r\ndata: {"list":', '[1,2]}\r\n\r\n', ': comment\n\n']);
    expect(afterEach).toEqual([
      '',
      'id: 1\ndata: {"progress":1}\n\n',
      'id: 1\ndata: {"progress":1}\n\n',
      'id: 1\ndata: {"progress":1}\n\nevent: message\r\ndata: {"list":[]}\n\r\n',
      'id: 1\ndata: {"progress":1}\n\nevent: message\r\ndata: {"list":[]}\n\r\n: comment\n\n',
    ]);
  });

  it('joins multi-line data as the SSE rules do, and keeps a CR split from its LF', () => {
    const seen: string[] = [];
    const rewriter = new SseRewriter((data) => (seen.push(data), undefined), 1024);
    run(rewriter, ['data: a\r', '\ndata:b\r\n\r\n']);
    expect(seen).toEqual(['a\nb']);
  });

  it('fails the stream on an event over its bound rather than relay it uninspected', async () => {
    const rewriter = new SseRewriter(() => undefined, 16);
    const failed = once(rewriter, 'error');
    const { afterEach } = run(rewriter, ['data: 0123456789', '0123456789']);
    const [error] = (await failed) as [Error];
    expect(error.message).toContain('an SSE event over 16 bytes');
    expect(afterEach.at(-1)).toBe('');
  });
});
