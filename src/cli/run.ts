import { once } from 'node:events';
import { loadConfig } from '../config/load-config';
import { assertWasmInliningGuard } from '../policy/v8-guard';
import { Gateway } from '../server/gateway';
import type { CliCommand } from './command';
import { missingNodeFlags } from './node-flags';
import { CONFIG_FLAG, parseFlags, required } from './flags';

const USAGE = `Usage: toolgate run --config FILE

Starts the gateway: gets its SVID from the Workload API (spiffe.endpointSocket or
$SPIFFE_ENDPOINT_SOCKET), loads the policies, listens for mTLS gRPC, and relays permitted
calls to the upstreams. SIGTERM or SIGINT drains in-flight calls (drainTimeoutSeconds),
then exits 0. SIGHUP reloads the config file and the policies (so does a change to them,
unless reload.watch is false); an invalid set is refused and the last good one keeps
serving.`;

export const runCommand: CliCommand = {
  name: 'run',
  summary: 'run the gateway',
  usage: USAGE,
  async run(argv, context) {
    const file = required(parseFlags(argv, CONFIG_FLAG).values.config, 'config', USAGE);
    // Never serve without the guard against V8's wasm-inlining abort (see v8-guard.ts).
    assertWasmInliningGuard();
    const config = loadConfig(file);
    // Listening from before the start, so that a SIGHUP while waiting for the first SVID
    // neither kills the process nor is lost: the files were read before that wait.
    let gateway: Gateway | undefined;
    let hangupDuringStart = false;
    const stopReloading = reloadOnHangup(() => (gateway ? gateway.reload('SIGHUP') : (hangupDuringStart = true)));
    try {
      gateway = await Gateway.start(config, { signal: context.signal, configFile: file, missingNodeFlags: missingNodeFlags() });
      if (hangupDuringStart) gateway.reload('SIGHUP during start');
      if (!context.signal.aborted) await once(context.signal, 'abort');
    } finally {
      stopReloading();
    }
    await gateway.close();
    return 0;
  },
};

/** Where signals come from: `process`, or a stand-in in tests. */
interface SignalSource {
  on(signal: 'SIGHUP', listener: () => void): unknown;
  off(signal: 'SIGHUP', listener: () => void): unknown;
}

/**
 * Calls `reload` on every SIGHUP until the returned function is called. While the
 * listener is on, SIGHUP no longer terminates the process (Node's default for it).
 */
export function reloadOnHangup(reload: () => void, signals: SignalSource = process): () => void {
  const onHangup = (): void => reload();
  signals.on('SIGHUP', onHangup);
  return () => signals.off('SIGHUP', onHangup);
}
