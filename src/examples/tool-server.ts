import * as grpc from '@grpc/grpc-js';
import type { AddressInfo } from 'node:net';
import type { Authorizer } from '../spiffe/tls/authorizer';
import { serveGrpcOverMtls } from '../spiffe/tls/grpc-credentials';
import { MtlsServer } from '../spiffe/tls/mtls-server';
import type { X509TlsSource } from '../spiffe/tls/secure-context-cache';

/**
 * A grpc-js tool service served over SPIFFE mTLS: it presents its own SVID and accepts
 * only peers that `authorize` allows (in production, just the gateway's SPIFFE ID).
 */
export class ToolServer {
  private constructor(
    private readonly server: grpc.Server,
    private readonly listener: MtlsServer,
    readonly address: AddressInfo,
  ) {}

  static async start(
    source: X509TlsSource,
    authorize: Authorizer,
    services: Array<[grpc.ServiceDefinition, grpc.UntypedServiceImplementation]>,
    port = 0,
    host = '127.0.0.1',
  ): Promise<ToolServer> {
    const server = new grpc.Server();
    for (const [definition, implementation] of services) server.addService(definition, implementation);
    const listener = new MtlsServer(source, authorize);
    serveGrpcOverMtls(server, listener);
    const address = await listener.listen(port, host);
    return new ToolServer(server, listener, address);
  }

  get target(): string {
    return `${this.address.address}:${this.address.port}`;
  }

  async close(): Promise<void> {
    this.server.forceShutdown();
    await this.listener.close();
  }
}
