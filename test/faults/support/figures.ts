import { appendFileSync } from 'node:fs';
import { LONG } from './fault-settings';

/**
 * Prints a scenario's figures (one line, JSON) and, when TOOLGATE_FAULTS_FIGURES names a
 * file, appends them there: what docs/faults.md's tables are made from.
 */
export function reportFigures(scenario: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ scenario, size: LONG ? 'long' : 'suite', at: new Date().toISOString(), ...figures });
  process.stdout.write(`[faults] ${line}\n`);
  const file = process.env.TOOLGATE_FAULTS_FIGURES;
  if (file) appendFileSync(file, `${line}\n`);
}

/** Milliseconds, rounded for a report. */
export function ms(value: number | undefined): number | null {
  return value === undefined || Number.isNaN(value) ? null : Math.round(value * 10) / 10;
}

/** Bytes as MiB, rounded for a report. */
export function mib(bytes: number): number {
  return Math.round((bytes / 1048576) * 10) / 10;
}
