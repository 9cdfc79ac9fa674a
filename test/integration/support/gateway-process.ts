import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const REGISTER_TS = join(__dirname, '../../unit/policy/support/register-ts.js');
const CLI = join(__dirname, '../../../src/cli/main.ts');

/** `toolgate run` in a process of its own, on the same config file (a second replica); resolves with its listener's port once it serves. */
export function runGatewayProcess(configFile: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--no-turbo-inline-js-wasm-calls', '--require', REGISTER_TS, CLI, 'run', '--config', configFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`second gateway did not start:\n${seen}`)), 30_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      for (const line of seen.split('\n')) {
        if (!line.includes('toolgate is serving')) continue;
        clearTimeout(timer);
        resolve({ child, port: (JSON.parse(line) as { listen: { port: number } }).listen.port });
        return;
      }
    });
    child.on('exit', (code) => reject(new Error(`second gateway exited (${code}):\n${seen}`)));
  });
}
