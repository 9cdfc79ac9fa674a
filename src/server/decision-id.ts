import { randomBytes } from 'node:crypto';

/**
 * Decision ids: a random per-process prefix and a counter, unique across replicas and
 * restarts without a random draw per call. They correlate a denied caller's error with
 * its decision log line; they are not secrets.
 */
export function decisionIdGenerator(): () => string {
  const prefix = randomBytes(6).toString('hex');
  let counter = 0;
  return () => `${prefix}-${(++counter).toString(36)}`;
}
