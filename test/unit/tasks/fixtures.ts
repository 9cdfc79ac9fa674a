import { newTask, type Task, type TaskRequest } from '../../../src/tasks/task';
import { TaskError, type TaskErrorCode } from '../../../src/tasks/task-errors';

export const T0 = Date.parse('2026-01-01T00:00:00Z');
export const ALICE = 'spiffe://example.org/agent/alice';
export const MALLORY = 'spiffe://example.org/agent/mallory';

/** A clock tests move by hand. */
export class FakeClock {
  constructor(public ms: number = T0) {}
  readonly now = (): number => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
  date(): Date {
    return new Date(this.ms);
  }
}

export function aTask(overrides: Partial<TaskRequest> = {}, at: number = T0, id?: string): Task {
  const request: TaskRequest = { ownerSpiffeId: ALICE, intent: 'tidy the docs', tools: ['tools.files.v1.Files'], ttlSeconds: 600, ...overrides };
  return newTask(request, new Date(at), 3600, id);
}

/** The TaskError a promise rejects with, asserted to carry `code`. */
export async function taskRejection(code: TaskErrorCode, promise: Promise<unknown>): Promise<TaskError> {
  let error: unknown;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  if (!(error instanceof TaskError)) throw new Error(`expected TaskError ${code}, got ${String(error)}`);
  expect(error.code).toBe(code);
  return error;
}

export function taskThrown(code: TaskErrorCode, run: () => unknown): TaskError {
  try {
    run();
  } catch (err) {
    if (!(err instanceof TaskError)) throw err;
    expect(err.code).toBe(code);
    return err;
  }
  throw new Error(`expected TaskError ${code}, but nothing was thrown`);
}
