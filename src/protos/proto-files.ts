import * as protobuf from 'protobufjs';

// An upstream's protos as the schema generator (policy) and the payload decoder (relay)
// both read them, in a folder below both so that neither imports the other for it.

/** One gRPC method as an action of the Cedar model (docs/policies.md, "The model"). */
export interface ProtoMethod {
  /** `"<package.Service>/<Method>"`: the Cedar action id, and the gRPC path without its leading `/`. */
  readonly action: string;
  /** `"<package.Service>"`: the action group the method is a member of. */
  readonly service: string;
  readonly input: protobuf.Type;
  /** Client-streaming or bidi: each inbound message is authorized with `context.stream.index`. */
  readonly clientStreaming: boolean;
}

/**
 * Loads one upstream's `.proto` files into a root of their own: two upstreams may each
 * bring a file of the same name, which one root would take for the same file. Names are
 * kept as written (`keepCase`), because a field's JSON name is derived from its proto name
 * (`jsonName`). Imports resolve against the importing file's folder; the well-known
 * `google/protobuf/*.proto` types are built in. Throws `Error` naming the file.
 */
export function loadProtoRoot(files: readonly string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.loadSync([...files], { keepCase: true });
  // Resolves every type reference now, so an unknown type is an error here and not a gap later.
  root.resolveAll();
  return root;
}

/** The service of that fully-qualified name, or undefined. */
export function findService(root: protobuf.Root, name: string): protobuf.Service | undefined {
  const found = root.lookup(`.${name}`);
  return found instanceof protobuf.Service ? found : undefined;
}

/** The service's methods, in the order of the .proto file. */
export function methodsOf(service: protobuf.Service, serviceName: string): ProtoMethod[] {
  return service.methodsArray.map((method) => {
    method.resolve();
    return {
      action: `${serviceName}/${method.name}`,
      service: serviceName,
      input: method.resolvedRequestType as protobuf.Type,
      clientStreaming: method.requestStream === true,
    };
  });
}

/**
 * A field's proto3 JSON name: its `json_name` option, else protoc's lowerCamelCase of the
 * proto name (drop each `_`, upper-case the character after it). protobufjs's own camelCase
 * differs for names like `foo_1bar` (protoc: `foo1bar`), so the payload decoder should name
 * fields with this function too: the schema and the decoded request must agree.
 */
export function jsonName(field: protobuf.Field): string {
  const explicit = (field.options as Record<string, unknown> | undefined)?.['json_name'];
  if (typeof explicit === 'string') return explicit;
  let out = '';
  let upper = false;
  for (const c of field.name) {
    if (c === '_') upper = true;
    else {
      out += upper ? c.toUpperCase() : c;
      upper = false;
    }
  }
  return out;
}

/** The message's full name without protobufjs's leading dot: `tools.files.v1.ReadFileRequest`. */
export function protoName(type: protobuf.ReflectionObject): string {
  return type.fullName.replace(/^\./, '');
}
