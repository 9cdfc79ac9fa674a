/*
 * Readers for the parsed YAML. The checks after the schema pass still run when it found
 * problems (so that every problem is reported at once), so they may meet a value of the
 * wrong type; these readers turn it into "absent", which the schema has already reported.
 */

export type RawRecord = Record<string, unknown>;

export function asRecord(value: unknown): RawRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as RawRecord) : {};
}

export function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Strings of a list, with their indexes; other items are skipped. */
export function stringItems(value: unknown): [string, number][] {
  return asList(value).flatMap((item, i): [string, number][] => (typeof item === 'string' ? [[item, i]] : []));
}
