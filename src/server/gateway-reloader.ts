import { basename, dirname } from 'node:path';
import { loadConfig } from '../config/load-config';
import type { LogLevel } from '../config/defaults';
import type { GatewayConfig, McpUpstreamConfig } from '../config/gateway-config';
import { IdentityMapper } from '../identity/identity-mapper';
import type { Logger } from '../observability/logger';
import type { GatewayMetrics } from '../observability/metrics';
import { DEFAULT_SHADOW_FOLDER, loadPolicies, policyFolders, type LoadedPolicies, type PolicyFolders, type PolicyStoreOptions } from '../policy/policy-store';
import type { WatchPlan } from '../policy/reload-watcher';
import type { TrustDomain } from '../spiffe/id/trust-domain';
import type { CallPipeline } from './call-pipeline';
import { MCP_CATALOGS, reloadableConfig } from './reloadable-config';
import { asError } from '../errors/unknown-error';

export type ReloadOutcome =
  | {
      readonly result: 'success';
      /** What changed and was applied: config keys, `policy set`, `shadow set`; empty when nothing did. */
      readonly changed: readonly string[];
      /** Config keys that changed but need a restart; they keep their running values. */
      readonly restartNeeded: readonly string[];
      readonly policySet: string;
      readonly shadowSet: string | undefined;
    }
  | {
      readonly result: 'failure';
      /** Why the new files were refused; names the file, key, or policy. */
      readonly error: Error;
      /** The set that keeps serving. */
      readonly policySet: string;
    };

export interface GatewayReloaderOptions {
  /** The file the config was loaded from. Without it a reload re-reads the policy folders only. */
  configFile: string | undefined;
  pipeline: CallPipeline;
  /** Caller trust domains, fixed at start (the listener's TLS checks them). */
  trustDomains: readonly TrustDomain[];
  logger: Logger;
  metrics: GatewayMetrics;
  shadow: PolicyStoreOptions;
  /** Applies a new `logLevel`; absent when the operational logger is not the gateway's to change. */
  setLogLevel?: (level: LogLevel) => void;
  /** Puts the MCP upstreams' tool catalogs (`mcp.tools`) in force as their pins. */
  useMcpCatalogs?: (upstreams: readonly McpUpstreamConfig[]) => void;
}

/** Names in a watched folder that a reload reads, beside the config file and the folders themselves. */
const POLICY_FILE = /\.cedar(schema)?$/;
/** A ConfigMap volume's `..data`, `..data_tmp` and `..<timestamp>` entries (see ReloadWatcher). */
const CONFIG_MAP_ENTRY = /^\.\./;

/**
 * Reloads the config file and the policy folders, keeping the last good: everything is
 * read and validated first, and only a wholly valid result is put in force, in one
 * `replaceState` between calls (loading is synchronous, so no call runs in between and
 * each call decides on one state from start to end). Anything refused is logged with its
 * reason and counted, and the running config and policies stay as they were.
 */
export class GatewayReloader {
  private running: GatewayConfig;
  private policies: LoadedPolicies;

  constructor(
    config: GatewayConfig,
    policies: LoadedPolicies,
    private readonly options: GatewayReloaderOptions,
  ) {
    this.running = config;
    this.policies = policies;
    options.metrics.setPolicySets(policies.live.hash, policies.shadow?.hash);
  }

  /** The config in force: the last good file, with restart-only keys as at start. */
  get config(): GatewayConfig {
    return this.running;
  }

  /** What to watch for the config and policies in force. */
  watchPlan(): WatchPlan {
    return watchPlan(this.options.configFile, this.running, this.policies.folders);
  }

  /** Reloads now; `reason` (e.g. "SIGHUP") goes to the log. Never throws. */
  reload(reason: string): ReloadOutcome {
    const { logger, metrics } = this.options;
    const before = this.policies;
    try {
      const next = this.options.configFile === undefined ? this.running : loadConfig(this.options.configFile);
      const { config, applied, restartNeeded } = reloadableConfig(this.running, next);
      const state = this.options.pipeline.current;
      const identities = applied.includes('identities') ? new IdentityMapper(config.identities, { trustDomains: this.options.trustDomains }) : state.identities;
      const policies = loadPolicies(policyFolders(config.policies, config.shadowPolicies), this.options.shadow, before);

      if (identities !== state.identities || policies.engine !== state.engine) {
        this.options.pipeline.replaceState({ ...state, identities, engine: policies.engine, policyHash: policies.live.hash });
      }
      if (applied.includes('logLevel')) this.options.setLogLevel?.(config.logLevel);
      if (applied.includes(MCP_CATALOGS)) this.options.useMcpCatalogs?.(config.mcpUpstreams);
      this.running = config;
      this.policies = policies;

      const changed = [...applied, ...setChanges(before, policies)];
      const outcome = { result: 'success', changed, restartNeeded, policySet: policies.live.hash, shadowSet: policies.shadow?.hash } as const;
      metrics.reloadSucceeded.inc();
      metrics.lastReloadSuccessful.set(1);
      metrics.setPolicySets(policies.live.hash, policies.shadow?.hash);
      const fields = { reason, changed, policySet: outcome.policySet, shadowSet: outcome.shadowSet, previousPolicySet: before.live.hash };
      logger.info(fields, changed.length > 0 ? 'reloaded' : 'reloaded: nothing changed');
      if (restartNeeded.length > 0) {
        logger.warn({ reason, keys: restartNeeded }, `config changes need a restart and were not applied: ${restartNeeded.join(', ')}; the rest was`);
      }
      return outcome;
    } catch (err) {
      const error = asError(err);
      metrics.reloadFailed.inc();
      metrics.lastReloadSuccessful.set(0);
      logger.error({ reason, err: error.message, policySet: before.live.hash }, 'reload refused: the last good config and policies keep serving');
      return { result: 'failure', error, policySet: before.live.hash };
    }
  }
}

/**
 * What to watch for a config and its policy folders: the config file's folder, the policy
 * folders and the folders of the MCP upstreams' tool catalogs, and in them the files a reload
 * reads, the folders themselves (replaced, or created: `policies/shadow` appearing starts
 * shadow evaluation), and a ConfigMap's swap entries. Nothing when `reload.watch` is off.
 */
export function watchPlan(configFile: string | undefined, config: GatewayConfig, policies: PolicyFolders): WatchPlan {
  const folders = new Set([policies.live, ...(policies.shadow === undefined ? [] : [policies.shadow])]);
  if (configFile !== undefined) folders.add(dirname(configFile));
  const names = new Set([DEFAULT_SHADOW_FOLDER, ...[...folders].map((f) => basename(f))]);
  if (configFile !== undefined) names.add(basename(configFile));
  // MCP tool catalogs are read by the config's load: a changed file re-pins without a restart.
  const catalogs = configFile === undefined ? [] : config.mcpUpstreams.flatMap((u) => (u.tools === undefined ? [] : [u.tools.file]));
  for (const file of catalogs) {
    folders.add(dirname(file));
    names.add(basename(file));
  }
  return {
    folders: config.reload.watch ? [...folders] : [],
    relevant: (name) => POLICY_FILE.test(name) || CONFIG_MAP_ENTRY.test(name) || names.has(name),
    debounceMs: config.reload.debounceMs,
  };
}

/** `policy set` and `shadow set`, for each whose content changed. */
function setChanges(before: LoadedPolicies, after: LoadedPolicies): string[] {
  const changes: string[] = [];
  if (before.live.hash !== after.live.hash) changes.push('policy set');
  if (before.shadow?.hash !== after.shadow?.hash) changes.push('shadow set');
  return changes;
}
