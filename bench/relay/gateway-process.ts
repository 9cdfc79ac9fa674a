import { loadConfig } from '../../src/config/load-config';
import { assertWasmInliningGuard } from '../../src/policy';
import { Gateway } from '../../src/server/gateway';
import { reportFastPath, requireEnv, runChild } from './child-probe';

/**
 * Child process: toolgate as `toolgate run --config FILE` starts it (the same loadConfig
 * and Gateway.start, default operational logger, decision log to the config's file), with
 * its Workload API endpoint from SPIFFE_ENDPOINT_SOCKET. The parent starts this process
 * with the V8 guard flag on the command line, as production must.
 */
async function main(): Promise<number> {
  assertWasmInliningGuard();
  const config = loadConfig(requireEnv('BENCH_GATEWAY_CONFIG'));
  const gateway = await Gateway.start(config, { svidTimeoutMs: 10_000 });
  // The engine in force now (a reload would replace it; the bench does not reload).
  reportFastPath(() => gateway.pipeline.current.engine.fastPathStats);
  return gateway.address.port;
}

runChild(main);
