import * as protobuf from 'protobufjs';

/** What the gateway knows of one gRPC method from an upstream's protos. */
export interface MethodInfo {
  /** `package.Service/Method`, the Cedar action id. */
  action: string;
  requestType: protobuf.Type;
  requestStream: boolean;
  responseStream: boolean;
}

export class ProtoLoadError extends Error {
  readonly code = 'ERR_PROTO_LOAD';
}

/**
 * The methods of an upstream's services, read from its `.proto` files once at start (and
 * on reload): what makes payload-aware policy possible. Every service routed to the
 * upstream must be defined in its protos, so a typo cannot silently turn payload checks off.
 */
export class MethodCatalog {
  private constructor(private readonly methods: ReadonlyMap<string, MethodInfo>) {}

  static load(upstream: string, protoFiles: readonly string[], services: readonly string[]): MethodCatalog {
    let root: protobuf.Root;
    try {
      root = new protobuf.Root().loadSync([...protoFiles], { keepCase: false });
      root.resolveAll();
    } catch (err) {
      throw new ProtoLoadError(`upstream "${upstream}": cannot load protos: ${(err as Error).message}`);
    }
    const methods = new Map<string, MethodInfo>();
    for (const name of services) {
      const service = root.lookup(name);
      if (!(service instanceof protobuf.Service)) {
        throw new ProtoLoadError(`upstream "${upstream}": service ${name} is not defined in its protos (${protoFiles.join(', ')})`);
      }
      for (const method of service.methodsArray) {
        const action = `${name}/${method.name}`;
        methods.set(action, {
          action,
          requestType: method.resolvedRequestType!,
          requestStream: method.requestStream === true,
          responseStream: method.responseStream === true,
        });
      }
    }
    return new MethodCatalog(methods);
  }

  get(action: string): MethodInfo | undefined {
    return this.methods.get(action);
  }

  get size(): number {
    return this.methods.size;
  }
}
