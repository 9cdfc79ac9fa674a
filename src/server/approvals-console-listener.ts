import type { AddressInfo } from 'node:net';
import type { ApprovalStore } from '../approvals/approval-store';
import { ConfigError } from '../config/config-error';
import type { ApprovalConsoleConfig } from '../config/gateway-config';
import type { IdentityRule } from '../identity/identity-rule';
import type { DecisionLog } from '../observability/decision-log';
import type { Logger } from '../observability/logger';
import type { TrustDomain } from '../spiffe/id';
import { authorizeId } from '../spiffe/tls/authorizer';
import { MtlsServer, type MtlsServerOptions } from '../spiffe/tls/mtls-server';
import type { X509TlsSource } from '../spiffe/tls/secure-context-cache';
import type { ApprovalActions } from './approval-actions';
import { ApprovalsConsole } from './approvals-console';
import { Http1Connections } from './http1-connections';
import type { ResourceStack } from './resource-stack';

export interface ApprovalsConsoleParts {
  readonly source: X509TlsSource;
  readonly store: ApprovalStore;
  readonly actions: ApprovalActions;
  readonly identities: () => readonly IdentityRule[];
  /** The trust domains of callers (SPIFFE ones and OIDC issuers'): never the people's. */
  readonly callerTrustDomains: readonly TrustDomain[];
  readonly logger: Logger;
  /** The decision log and its ids: the console's refused decisions are records too. */
  readonly decisionLog: DecisionLog;
  readonly nextDecisionId: () => string;
  readonly idleTimeoutMs?: number;
  /** The connection and handshake limits the other listeners have (`limits.*`): a handshake costs CPU whoever starts it. */
  readonly tls?: MtlsServerOptions;
}

/**
 * The console's own listener (`approvals.console.listen`): TLS with the gateway's SVID, and
 * a client certificate required whose SPIFFE ID is the auth proxy's: nobody else completes a
 * connection, so nobody else can name a person in the user header. HTTP/1.1, as auth proxies
 * speak to their upstreams. It is drained with the gateway's other listeners.
 */
export async function openApprovalsConsole(config: ApprovalConsoleConfig, parts: ApprovalsConsoleParts, resources: ResourceStack<{ graceMs: number }>): Promise<AddressInfo> {
  const { trustDomain, spiffeId, userHeader } = config.proxy;
  // The config check cannot know the gateway's own trust domain: checked here, as the OIDC issuers' are.
  if (parts.callerTrustDomains.some((td) => td.equals(trustDomain))) {
    const message = `trust domain "${trustDomain.name}" is a caller's: people need one of their own, or the proxy could name a person as an agent`;
    throw new ConfigError('', [{ path: 'approvals.console.proxy.trustDomain', message }]);
  }
  const app = new ApprovalsConsole({
    store: parts.store,
    actions: parts.actions,
    userHeader,
    trustDomain,
    identities: parts.identities,
    logger: parts.logger,
    record: (record) => parts.decisionLog.write(record),
    nextDecisionId: parts.nextDecisionId,
  });
  const tls = new MtlsServer(parts.source, authorizeId(spiffeId), { ...parts.tls, alpnProtocols: ['http/1.1'] });
  const http = new Http1Connections<true>((req, res) => app.serve(req, res), parts.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: parts.idleTimeoutMs });
  tls.on('connection', (socket) => http.accept(socket, true));
  tls.on('rejected', (err, remote) => parts.logger.info({ remote, listener: 'approvals console', reason: err.message }, 'connection refused'));
  const address = await tls.listen(config.listen.port, config.listen.host);
  resources.add('approvals console', ({ graceMs }) => Promise.all([tls.close(), http.drain(graceMs)]).then(() => undefined));
  parts.logger.info({ listen: address, proxy: spiffeId.toString(), userHeader }, 'approvals console listening');
  return address;
}
