import type * as protobuf from 'protobufjs';
import { findService, loadProtoRoot, methodsOf } from '../protos/proto-files';
import { errorMessage } from '../errors/unknown-error';
import { ToolgateError } from '../errors/toolgate-error';

/** What the gateway knows of one gRPC method from an upstream's protos. */
export interface MethodInfo {
  /** `package.Service/Method`, the Cedar action id. */
  action: string;
  requestType: protobuf.Type;
  /** Client-streaming or bidi: each message is decided with `context.stream.index`. */
  requestStream: boolean;
}

/** An upstream's protos (files or reflected descriptors) that cannot be loaded, or that lack a routed service: the start or reload stops. */
export class ProtoLoadError extends ToolgateError<'ERR_PROTO_LOAD'> {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_PROTO_LOAD', message, options);
  }
}

/**
 * The methods of an upstream's services, read once at start (and on reload) from its
 * `.proto` files or, with `reflection: true`, from the descriptors it serves: what makes
 * payload-aware policy possible. Files are read exactly as the schema generator reads
 * them (src/protos/proto-files.ts), and reflected descriptors with the same semantics
 * (src/relay/descriptor-root.ts), so that the decoded requests and the generated schema
 * agree. Every service routed to the upstream must be defined, so a typo cannot silently
 * turn payload checks off.
 */
export class MethodCatalog {
  private constructor(private readonly methods: ReadonlyMap<string, MethodInfo>) {}

  static load(upstream: string, protoFiles: readonly string[], services: readonly string[]): MethodCatalog {
    let root: protobuf.Root;
    try {
      root = loadProtoRoot(protoFiles);
    } catch (err) {
      throw new ProtoLoadError(`upstream "${upstream}": cannot load protos: ${errorMessage(err)}`, { cause: err });
    }
    return MethodCatalog.fromRoot(upstream, root, services, `its protos (${protoFiles.join(', ')})`);
  }

  /**
   * The catalog of `services` as `root` defines them; `source` says where the root came
   * from (`its protos (a.proto)`), for the error when a service is missing.
   */
  static fromRoot(upstream: string, root: protobuf.Root, services: readonly string[], source: string): MethodCatalog {
    const methods = new Map<string, MethodInfo>();
    for (const name of services) {
      const service = findService(root, name);
      if (!service) {
        throw new ProtoLoadError(`upstream "${upstream}": service ${name} is not defined in ${source}`);
      }
      for (const m of methodsOf(service, name)) {
        methods.set(m.action, { action: m.action, requestType: m.input, requestStream: m.clientStreaming });
      }
    }
    return new MethodCatalog(methods);
  }

  get(action: string): MethodInfo | undefined {
    return this.methods.get(action);
  }
}
