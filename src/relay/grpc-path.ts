/** A gRPC method named by an HTTP/2 `:path` of the form `/<package.Service>/<Method>`. */
export interface GrpcMethod {
  /** `package.Service` */
  service: string;
  /** `package.Service/Method`: the Cedar action id. */
  action: string;
}

// Service: dot-separated identifiers; method: one identifier (protobuf naming rules).
const GRPC_PATH = /^\/((?:[A-Za-z_][A-Za-z0-9_]*\.)*[A-Za-z_][A-Za-z0-9_]*)\/([A-Za-z_][A-Za-z0-9_]*)$/;

/** Parses `:path`; undefined when it is not a well-formed gRPC method path. */
export function parseGrpcPath(path: string | undefined): GrpcMethod | undefined {
  if (path === undefined) return undefined;
  const m = GRPC_PATH.exec(path);
  return m ? { service: m[1], action: path.slice(1) } : undefined;
}
