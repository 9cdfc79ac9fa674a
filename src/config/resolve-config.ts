import { parseEndpointAddress, SOCKET_ENV } from '../spiffe/workload/address';
import { TrustDomain } from '../spiffe/id';
import { DEFAULTS, type LogLevel } from './defaults';
import { existingDirectory, existingFile, writableFileLocation } from './file-paths';
import type { GatewayConfig, HostPort } from './gateway-config';
import { parseHostPort } from '../net/host-port';
import type { IssueList } from './issue-list';
import { asRecord, asString, stringItems, type RawRecord } from './raw-value';
import { resolveApprovalConsole } from './resolve-approval-console';
import { resolveCredentials, resolveState } from './resolve-credentials';
import { resolveApprovalWebhook } from './resolve-approval-webhook';
import { resolveIdentities } from './resolve-identities';
import { resolveMetadataAllow } from './resolve-metadata';
import { resolveUpstreams } from './resolve-upstreams';
import { resolveOidcIssuer, resolveWorkloadTokens } from './resolve-workload-tokens';

export interface ResolveOptions {
  /** The config file's folder: relative paths resolve against it. */
  baseDir: string;
  /** When given, `$SPIFFE_ENDPOINT_SOCKET` stands in for an absent `spiffe.endpointSocket`. */
  env?: NodeJS.ProcessEnv;
}

/**
 * The checks that need code, after the schema pass: values, files, cross-references.
 * Defaults are applied and paths made absolute. Every problem goes to `issues`; the
 * result is undefined when there is any.
 */
export function resolveConfig(value: unknown, options: ResolveOptions, issues: IssueList): GatewayConfig | undefined {
  const raw = asRecord(value);
  const spiffe = resolveSpiffe(asRecord(raw.spiffe), options.env, issues);
  const listen = listener('listen', raw.listen ?? DEFAULTS.listen, issues);
  const admin = raw.admin === false ? undefined : listener('admin', raw.admin ?? DEFAULTS.admin, issues);
  const policiesPath = asString(raw.policies);
  const policies = policiesPath === undefined ? undefined : issues.check(['policies'], undefined, () => existingDirectory(policiesPath, options.baseDir));
  const shadowPath = asString(raw.shadowPolicies);
  const shadowPolicies = shadowPath === undefined ? undefined : issues.check(['shadowPolicies'], undefined, () => existingDirectory(shadowPath, options.baseDir));
  const workloadTokens = resolveWorkloadTokens(raw.workloadTokens, options.baseDir, issues);
  // Callers with OIDC workload tokens get SPIFFE IDs in their issuer's trust domain: rules may map them.
  const oidcDomains = workloadTokens?.oidc.map((o) => o.trustDomain) ?? [];
  checkOidcDomainsApart(oidcDomains, spiffe.trustDomains, issues);
  const approvals = asRecord(raw.approvals);
  // People approving through the console get SPIFFE IDs in the proxy's trust domain: rules may map them too.
  const approvalConsole = resolveApprovalConsole(approvals.console, [...(spiffe.trustDomains ?? []), ...oidcDomains], issues);
  const peopleDomains = approvalConsole ? [approvalConsole.proxy.trustDomain] : [];
  const identities = resolveIdentities(raw.identities, spiffe.trustDomains && [...spiffe.trustDomains, ...oidcDomains, ...peopleDomains], issues);
  const { upstreams, mcpUpstreams } = resolveUpstreams(raw.upstreams, options.baseDir, issues);
  const allow = resolveMetadataAllow(asRecord(raw.metadata).allow, issues);
  const limits = asRecord(raw.limits);
  const decisionLog = resolveDecisionLog(asRecord(raw.decisionLog), options.baseDir, issues);
  const reload = asRecord(raw.reload);
  const policyEngine = asRecord(raw.policyEngine);
  const credentials = resolveCredentials(asRecord(raw.tasks), asRecord(raw.credentials), options.baseDir, issues);
  const state = resolveState(asRecord(raw.state), options.env, issues);
  const webhook = resolveApprovalWebhook(approvals.webhook, options.baseDir, issues);
  const onBehalfOf = raw.onBehalfOf == null ? undefined : resolveOidcIssuer(asRecord(raw.onBehalfOf), ['onBehalfOf'], options.baseDir, issues);

  if (issues.size > 0 || !listen || policies === undefined || decisionLog === undefined) return undefined;
  return {
    spiffe,
    listen,
    ...(admin && { admin }),
    policies,
    ...(shadowPolicies !== undefined && { shadowPolicies }),
    identities,
    upstreams,
    mcpUpstreams,
    metadata: { allow },
    limits: {
      maxMessageBytes: (limits.maxMessageBytes as number | undefined) ?? DEFAULTS.maxMessageBytes,
      ...(limits.maxConcurrentStreams !== undefined && { maxConcurrentStreams: limits.maxConcurrentStreams as number }),
      maxConnections: (limits.maxConnections as number | undefined) ?? DEFAULTS.maxConnections,
      handshakesPerTurn: (limits.handshakesPerTurn as number | undefined) ?? DEFAULTS.handshakesPerTurn,
      handshakesPerSecond: (limits.handshakesPerSecond as number | undefined) ?? DEFAULTS.handshakesPerSecond,
      connectionIdleSeconds: (limits.connectionIdleSeconds as number | undefined) ?? DEFAULTS.connectionIdleSeconds,
      perCaller: {
        maxConcurrentCalls: (asRecord(limits.perCaller).maxConcurrentCalls as number | undefined) ?? DEFAULTS.perCallerMaxConcurrentCalls,
        maxConnections: (asRecord(limits.perCaller).maxConnections as number | undefined) ?? DEFAULTS.perCallerMaxConnections,
      },
      streamIdleSeconds: (limits.streamIdleSeconds as number | undefined) ?? DEFAULTS.streamIdleSeconds,
      ...(limits.agentRate != null && { agentRate: limits.agentRate as { perSecond: number; burst: number } }),
    },
    ...credentials,
    approvals: {
      holdSeconds: (approvals.holdSeconds as number | undefined) ?? DEFAULTS.approvalHoldSeconds,
      defaultTtlSeconds: (approvals.defaultTtlSeconds as number | undefined) ?? DEFAULTS.approvalTtlSeconds,
      maxTtlSeconds: (approvals.maxTtlSeconds as number | undefined) ?? DEFAULTS.approvalMaxTtlSeconds,
      maxPendingPerCaller: (approvals.maxPendingPerCaller as number | undefined) ?? DEFAULTS.approvalMaxPendingPerCaller,
      ...(approvalConsole && { console: approvalConsole }),
      ...(webhook && { webhook }),
    },
    state,
    ...(workloadTokens && { workloadTokens }),
    ...(onBehalfOf && { onBehalfOf }),
    drainTimeoutSeconds: (raw.drainTimeoutSeconds as number | undefined) ?? DEFAULTS.drainTimeoutSeconds,
    decisionLog,
    logLevel: (raw.logLevel as LogLevel | undefined) ?? DEFAULTS.logLevel,
    policyEngine: {
      fastPath: (policyEngine.fastPath as boolean | undefined) ?? DEFAULTS.policyFastPath,
      fastPathCheckEvery: (policyEngine.fastPathCheckEvery as number | undefined) ?? DEFAULTS.policyFastPathCheckEvery,
    },
    reload: {
      watch: (reload.watch as boolean | undefined) ?? DEFAULTS.reloadWatch,
      debounceMs: (reload.debounceMs as number | undefined) ?? DEFAULTS.reloadDebounceMs,
    },
  };
}

/**
 * An OIDC issuer names its callers in a trust domain of its own: one shared with SPIFFE
 * callers or another issuer would let it mint their identities (`sub` "agents:bot" becomes
 * spiffe://<td>/agents/bot).
 */
function checkOidcDomainsApart(oidc: readonly TrustDomain[], spiffe: readonly TrustDomain[] | undefined, issues: IssueList): void {
  oidc.forEach((td, i) => {
    const path = ['workloadTokens', 'oidc', i, 'trustDomain'];
    if (spiffe?.some((s) => s.equals(td))) issues.add(path, `trust domain "${td.name}" is also in spiffe.trustDomains: an OIDC issuer could mint the identities of SPIFFE callers`);
    else if (oidc.findIndex((o) => o.equals(td)) < i) issues.add(path, `trust domain "${td.name}" is used by another OIDC issuer: each issuer needs one of its own`);
  });
}

function resolveSpiffe(raw: RawRecord, env: NodeJS.ProcessEnv | undefined, issues: IssueList): GatewayConfig['spiffe'] {
  const spiffe: GatewayConfig['spiffe'] = {};
  const configured = asString(raw.endpointSocket);
  // An empty variable is treated as unset, as the Workload API client does.
  const fromEnv = configured === undefined && !('endpointSocket' in raw) ? env?.[SOCKET_ENV] || undefined : undefined;
  const endpointSocket = configured ?? fromEnv;
  if (endpointSocket !== undefined) {
    const context = `invalid Workload API address ${JSON.stringify(endpointSocket)}${fromEnv ? ` (from $${SOCKET_ENV})` : ''}`;
    if (issues.check(['spiffe', 'endpointSocket'], context, () => parseEndpointAddress(endpointSocket))) spiffe.endpointSocket = endpointSocket;
  }
  if (raw.trustDomains !== undefined) {
    const names = stringItems(raw.trustDomains);
    const parsed = names.flatMap(([name, i]) => {
      const td = issues.check(['spiffe', 'trustDomains', i], `invalid trust domain ${JSON.stringify(name)}`, () => TrustDomain.parse(name));
      return td ? [td] : [];
    });
    // A partial list would make identity rules in the bad entry's domain look unreachable.
    if (parsed.length === names.length) spiffe.trustDomains = parsed;
  }
  return spiffe;
}

function listener(key: 'listen' | 'admin', value: unknown, issues: IssueList): HostPort | undefined {
  if (key === 'admin' && value === true) {
    issues.add([key], 'must be host:port, or false for no admin listener');
    return undefined;
  }
  const address = asString(value);
  if (address === undefined) return undefined;
  return issues.check([key], `invalid address ${JSON.stringify(address)}`, () => parseHostPort(address, { allowPortZero: true }));
}

function resolveDecisionLog(raw: RawRecord, baseDir: string, issues: IssueList): GatewayConfig['decisionLog'] | undefined {
  const rawDestination = asString(raw.destination) ?? DEFAULTS.decisionLogDestination;
  const destination = rawDestination === 'stdout' ? rawDestination : issues.check(['decisionLog', 'destination'], undefined, () => writableFileLocation(rawDestination, baseDir));
  const keyFile = asString(raw.checkpointKeyFile);
  const checkpointKeyFile = keyFile === undefined ? undefined : issues.check(['decisionLog', 'checkpointKeyFile'], undefined, () => existingFile(keyFile, baseDir));
  if (destination === undefined) return undefined;
  return {
    destination,
    ...(checkpointKeyFile !== undefined && { checkpointKeyFile }),
    checkpointRecords: (raw.checkpointRecords as number | undefined) ?? DEFAULTS.checkpointRecords,
    checkpointSeconds: (raw.checkpointSeconds as number | undefined) ?? DEFAULTS.checkpointSeconds,
  };
}
