import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import type { SpiffeId } from '../spiffe/id/spiffe-id';
import { authorizeId } from '../spiffe/tls/authorizer';
import { mtlsClientOptions } from '../spiffe/tls/mtls-client';
import type { X509TlsSource } from '../spiffe/tls/secure-context-cache';

/**
 * The agent an https MCP upstream is reached with: every connection presents the gateway's
 * current X.509-SVID and accepts only a server presenting `spiffeId` (SPIFFE verification
 * against the bundles, in place of hostname checks), as gRPC upstreams are reached
 * (upstream-channel.ts). The TLS options are taken per connection, so a rotated SVID is
 * used from the next connection on.
 */
export class McpUpstreamAgent extends https.Agent {
  private readonly tlsOptions: () => ConnectionOptions;

  constructor(source: X509TlsSource, spiffeId: SpiffeId) {
    // No TLS session cache: a resumed session would skip the certificate the SPIFFE check reads.
    super({ keepAlive: true, maxCachedSessions: 0 });
    this.tlsOptions = mtlsClientOptions(source, authorizeId(spiffeId), ['http/1.1']);
  }

  override createConnection(options: https.RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    return super.createConnection({ ...options, ...this.tlsOptions() }, callback);
  }
}
