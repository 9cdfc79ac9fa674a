import * as grpc from '@grpc/grpc-js';
import type { UpstreamConfig } from '../config/gateway-config';
import { authorizeId } from '../spiffe/tls/authorizer';
import { grpcChannelCredentials, type X509WatchedSource } from '../spiffe/tls/grpc-credentials';
import { rootFromFileDescriptors } from './descriptor-root';
import { MethodCatalog, ProtoLoadError } from './method-catalog';
import { fetchFileDescriptors } from './server-reflection';
import { errorMessage } from '../errors/unknown-error';

/** How long start waits for an upstream's reflection answers before refusing to start. */
export const REFLECTION_TIMEOUT_MS = 10_000;

/**
 * The upstream's method catalog, from where its config says its descriptors are: its
 * `protos`, its gRPC server reflection, or nowhere (undefined: decisions on headers only).
 *
 * Reflection is asked over the connection policy of every relayed call: the gateway's
 * current SVID, and only the upstream's configured SPIFFE ID accepted, so the descriptors
 * come from the upstream the calls will reach. It fails closed: any failure rejects with
 * a `ProtoLoadError` naming the upstream, and the gateway refuses to start rather than
 * relay that upstream's calls without the payload checks its policies may rely on.
 */
export async function upstreamCatalog(upstream: UpstreamConfig, source: X509WatchedSource, timeoutMs = REFLECTION_TIMEOUT_MS): Promise<MethodCatalog | undefined> {
  if (upstream.protos.length > 0) return MethodCatalog.load(upstream.name, upstream.protos, upstream.services);
  if (!upstream.reflection) return undefined;

  const client = new grpc.Client(upstream.address, grpcChannelCredentials(source, authorizeId(upstream.spiffeId)));
  let files: Uint8Array[];
  try {
    files = await fetchFileDescriptors(client, upstream.services, new Date(Date.now() + timeoutMs));
  } catch (err) {
    throw new ProtoLoadError(`upstream "${upstream.name}": server reflection failed: ${errorMessage(err)}`, { cause: err });
  } finally {
    client.close();
  }
  let root;
  try {
    root = rootFromFileDescriptors(files);
  } catch (err) {
    throw new ProtoLoadError(`upstream "${upstream.name}": the descriptors from server reflection do not load: ${errorMessage(err)}`, { cause: err });
  }
  return MethodCatalog.fromRoot(upstream.name, root, upstream.services, 'the descriptors from its server reflection');
}
