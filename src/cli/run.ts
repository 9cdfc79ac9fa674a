import { once } from 'node:events';
import { loadConfig } from '../config/load-config';
import { assertWasmInliningGuard } from '../policy/v8-guard';
import { Gateway } from '../server/gateway';
import type { CliCommand } from './command';
import { parseConfigFlag } from './config-flag';

const USAGE = `Usage: toolgate run --config FILE

Starts the gateway: gets its SVID from the Workload API (spiffe.endpointSocket or
$SPIFFE_ENDPOINT_SOCKET), loads the policies, listens for mTLS gRPC, and relays permitted
calls to the upstreams. SIGTERM or SIGINT drains in-flight calls (drainTimeoutSeconds),
then exits 0.`;

export const runCommand: CliCommand = {
  name: 'run',
  summary: 'run the gateway',
  usage: USAGE,
  async run(argv, context) {
    const { config: file, help } = parseConfigFlag(argv, USAGE);
    if (help) {
      context.stdout(USAGE);
      return 0;
    }
    // Never serve without the guard against V8's wasm-inlining abort (see v8-guard.ts).
    assertWasmInliningGuard();
    const config = loadConfig(file);
    const gateway = await Gateway.start(config, { signal: context.signal });
    if (!context.signal.aborted) await once(context.signal, 'abort');
    await gateway.close();
    return 0;
  },
};
