import { lineDiff } from '../../../src/cli/line-diff';
import { diffCatalogs } from '../../../src/cli/mcp-catalog-diff';
import { oneLine, printable } from '../../../src/cli/printable';

describe('what mcp tools --diff prints of what a server wrote', () => {
  it('escapes terminal controls, bidi overrides, zero-width characters and separators, keeping the text readable', () => {
    expect(printable('plain text, ünïcödé, emoji 🙂')).toBe('plain text, ünïcödé, emoji 🙂');
    expect(printable('a\u001b[31mred\u009bb\u202Ereversed\u200Bzw\u2028ls\ttab\u007f')).toBe('a\\u{1b}[31mred\\u{9b}b\\u{202e}reversed\\u{200b}zw\\u{2028}ls\\ttab\\u{7f}');
    expect(printable('lone \ud800 surrogate')).toBe('lone \\u{d800} surrogate');
  });

  it('keeps an error on one line and cuts it at 300 characters', () => {
    expect(oneLine('first\n   second\r\nthird')).toBe('first second third');
    expect(oneLine('x'.repeat(1000))).toBe(`${'x'.repeat(300)}…`);
  });

  it('bounds a diff: lines past the cap are counted, and texts too long to diff are only sized', () => {
    const before = Array.from({ length: 100 }, (_, i) => `line ${i}`);
    const after = before.map((line) => `${line} changed`);
    const diff = lineDiff(before, after, { maxLines: 40 });
    expect(diff).toHaveLength(41);
    expect(diff.slice(0, 4)).toEqual(['-line 0', '-line 1', '-line 2', '-line 3']);
    expect(diff[40]).toBe('… (160 more lines)');
    expect(lineDiff(Array(3000).fill('a'), ['b'], { maxLines: 40 })).toEqual(['(3000 lines pinned, 1 live: too long to diff here)']);
  });

  it('shows two lines of context around a change and marks the lines left out', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
    const after = ['a', 'B', 'c', 'd', 'e', 'f', 'g', 'h', 'I'];
    expect(lineDiff(before, after, { maxLines: 40 })).toEqual([' a', '-b', '+B', ' c', ' d', '…', ' g', ' h', '-i', '+I']);
  });

  it('cuts a long line when shown, but still tells a change past the cut', () => {
    const pinned = { tools: [{ name: 't', description: `${'x'.repeat(300)}a`, inputSchema: { type: 'object' } }] };
    const live = { tools: [{ name: 't', description: `${'x'.repeat(300)}b`, inputSchema: { type: 'object' } }] };
    const { lines, changed } = diffCatalogs(pinned, live);
    expect(changed).toBe(1);
    expect(lines.slice(3)).toEqual([`    -${'x'.repeat(199)}…`, `    +${'x'.repeat(199)}…`]);
  });

  it('compares prompts too, by name, without digests', () => {
    const { lines, added, removed, changed } = diffCatalogs(
      { tools: [], prompts: [{ name: 'old' }, { name: 'same', description: 'S' }, { name: 'edited', arguments: [{ name: 'topic' }] }] },
      { tools: [], prompts: [{ name: 'new' }, { name: 'same', description: 'S' }, { name: 'edited', arguments: [{ name: 'topic', required: true }] }] },
    );
    expect({ added, removed, changed }).toEqual({ added: 1, removed: 1, changed: 1 });
    expect(lines.filter((l) => !l.startsWith('    '))).toEqual(['changed  prompt edited  (arguments)', 'added    prompt new', 'removed  prompt old']);
  });
});
