import { InvalidValueError } from '../errors/invalid-value-error';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `500ms`, `30s`, `1.5m`, `1h` into milliseconds; a unit is required so nothing is ambiguous. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (match === null) throw new InvalidValueError(`invalid duration "${text}" (use e.g. 500ms, 30s, 5m, 1h)`);
  return Math.round(Number(match[1]) * UNITS[match[2]]);
}
