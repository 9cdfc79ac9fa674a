import * as protobuf from 'protobufjs';
import * as descriptor from 'protobufjs/ext/descriptor';

/** protobufjs/ext/descriptor adds this to Root at run time; its typings do not declare it. */
type RootFromDescriptor = (set: descriptor.IFileDescriptorSet) => protobuf.Root;

interface FieldDescriptor {
  name?: string;
  jsonName?: string;
}
interface MessageDescriptor {
  name?: string;
  field?: FieldDescriptor[];
  nestedType?: MessageDescriptor[];
}

/**
 * Builds a root from serialized `google.protobuf.FileDescriptorProto`s (what server
 * reflection sends), with the same semantics as `loadProtoRoot` reading `.proto` text:
 * field names stay as declared (`max_bytes`, as with `keepCase`), every type reference is
 * resolved now, and an explicit `json_name` is kept as the field option `jsonName()` reads.
 * Throws `Error` when a descriptor does not decode or a type it names is missing.
 */
export function rootFromFileDescriptors(files: readonly Uint8Array[]): protobuf.Root {
  const decoded = files.map((bytes) => descriptor.FileDescriptorProto.decode(bytes) as unknown as descriptor.IFileDescriptorProto);
  // fromDescriptor resolves every type before it returns, so a missing type throws here.
  const root = (protobuf.Root as unknown as { fromDescriptor: RootFromDescriptor }).fromDescriptor({ file: decoded });
  for (const file of decoded) {
    const prefix = file.package ? `${file.package}.` : '';
    for (const message of (file.messageType ?? []) as MessageDescriptor[]) keepJsonNames(root, `${prefix}${message.name}`, message);
  }
  return root;
}

/**
 * protobufjs drops `FieldDescriptorProto.json_name`. protoc fills it for every field, most
 * often with the default that `jsonName()` derives anyway; when it was set explicitly in
 * the .proto it differs, and the decoded request must then use it, as the schema does.
 */
function keepJsonNames(root: protobuf.Root, fullName: string, message: MessageDescriptor): void {
  const type = root.lookup(fullName);
  // A map's entry message has no type of its own in protobufjs: the map field replaces it.
  if (!(type instanceof protobuf.Type)) return;
  for (const field of message.field ?? []) {
    if (!field.jsonName || !field.name) continue;
    const target = type.fields[field.name];
    if (target) target.options = { ...target.options, json_name: field.jsonName };
  }
  for (const nested of message.nestedType ?? []) keepJsonNames(root, `${fullName}.${nested.name}`, nested);
}
