import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { reloadOnHangup } from '../../../src/cli/run';

/** Sends itself SIGHUP with the `toolgate run` wiring on, and prints how often it reloaded. */
const CHILD = `
const { reloadOnHangup } = require(${JSON.stringify(join(__dirname, '../../../src/cli/run.ts'))});
let reloads = 0;
const stop = reloadOnHangup(() => reloads++);
const keepAlive = setInterval(() => {
  if (reloads === 2) { stop(); clearInterval(keepAlive); console.log('reloads: ' + reloads); }
}, 5);
process.kill(process.pid, 'SIGHUP');
setTimeout(() => process.kill(process.pid, 'SIGHUP'), 20);
`;

describe('toolgate run reloads on SIGHUP', () => {
  it('calls reload on every SIGHUP until stopped', () => {
    const signals = new EventEmitter();
    const reload = jest.fn();
    const stop = reloadOnHangup(reload, signals);
    signals.emit('SIGHUP');
    signals.emit('SIGHUP');
    expect(reload).toHaveBeenCalledTimes(2);
    stop();
    signals.emit('SIGHUP');
    expect(reload).toHaveBeenCalledTimes(2);
    expect(signals.listenerCount('SIGHUP')).toBe(0);
  });

  // Jest gives each test file its own `process` object, whose listeners the real process
  // never calls: a real SIGHUP here would end the test run (Node's default for SIGHUP).
  // So the real signal goes to a child process, and in here only the object is checked.
  it('keeps a process that receives SIGHUP running, reloading on each', async () => {
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--require', join(__dirname, '../policy/support/register-ts.js'), '-e', CHILD], { timeout: 15_000 }, (err, out) =>
        err ? reject(err) : resolve(out),
      ),
    );
    expect(stdout.trim()).toBe('reloads: 2');
  });

  it('listens on the process by default', () => {
    const before = process.listenerCount('SIGHUP');
    const reload = jest.fn();
    const stop = reloadOnHangup(reload);
    expect(process.listenerCount('SIGHUP')).toBe(before + 1);
    process.emit('SIGHUP', 'SIGHUP');
    expect(reload).toHaveBeenCalledTimes(1);
    stop();
    expect(process.listenerCount('SIGHUP')).toBe(before);
  });
});
