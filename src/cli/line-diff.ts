/** Most lines on either side that are diffed line by line; longer texts are only counted. */
const MAX_DIFFED_LINES = 2000;
/** Unchanged lines shown around each change. */
const CONTEXT = 2;

export interface LineDiffOptions {
  /** Most lines of output; the rest is counted in a last line. */
  readonly maxLines: number;
}

/**
 * A short unified diff of two texts' lines: `-` a pinned line, `+` a live one, two unchanged
 * lines of context around each change, `…` for lines left out. Bounded: at most `maxLines`
 * lines, and texts longer than MAX_DIFFED_LINES lines are not diffed (their sizes are told).
 */
export function lineDiff(before: readonly string[], after: readonly string[], options: LineDiffOptions): string[] {
  if (before.length > MAX_DIFFED_LINES || after.length > MAX_DIFFED_LINES) {
    return [`(${before.length} lines pinned, ${after.length} live: too long to diff here)`];
  }
  const ops = editScript(before, after);
  const shown = new Set<number>();
  ops.forEach((op, i) => {
    if (op.kind === ' ') return;
    for (let j = Math.max(0, i - CONTEXT); j <= Math.min(ops.length - 1, i + CONTEXT); j++) shown.add(j);
  });
  const lines: string[] = [];
  let skipped = false;
  ops.forEach((op, i) => {
    if (!shown.has(i)) {
      skipped = true;
      return;
    }
    if (skipped && lines.length > 0) lines.push('…');
    skipped = false;
    lines.push(`${op.kind}${op.line}`);
  });
  if (lines.length <= options.maxLines) return lines;
  return [...lines.slice(0, options.maxLines), `… (${lines.length - options.maxLines} more lines)`];
}

interface Op {
  readonly kind: ' ' | '-' | '+';
  readonly line: string;
}

/** The shortest edit script by longest common subsequence, common prefix and suffix taken off first. */
function editScript(a: readonly string[], b: readonly string[]): Op[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const n = endA - start;
  const m = endB - start;
  // lcs[i][j]: the longest common subsequence of a[start+i..endA) and b[start+j..endB).
  const lcs = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = a[start + i] === b[start + j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: Op[] = a.slice(0, start).map((line) => ({ kind: ' ', line }));
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[start + i] === b[start + j]) {
      ops.push({ kind: ' ', line: a[start + i]! });
      i++;
      j++;
    } else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      // The pinned line first, as unified diffs show a replaced line.
      ops.push({ kind: '-', line: a[start + i]! });
      i++;
    } else {
      ops.push({ kind: '+', line: b[start + j]! });
      j++;
    }
  }
  return [...ops, ...a.slice(endA).map((line): Op => ({ kind: ' ', line }))];
}
