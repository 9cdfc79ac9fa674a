import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../../src/config/load-config';
import type { UpstreamConfig } from '../../../src/config';
import { PolicyError, PolicySet } from '../../../src/policy';
import { checkParseSchema } from '../../../src/policy/cedar';
import { generateSchema, SchemaGenerationError, type SchemaSource } from '../../../src/policy/schema-generator';
import { SpiffeId } from '../../../src/spiffe/id';

const ROOT = resolve(__dirname, '../../..');
const EXAMPLE = loadConfig(join(ROOT, 'examples/toolgate.yaml'), {});

/** Proto files in a fresh folder; returns their absolute paths by name. */
function protos(files: Record<string, string>): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'tg-schema-'));
  return Object.fromEntries(
    Object.entries(files).map(([name, text]) => {
      writeFileSync(join(dir, name), text);
      return [name, join(dir, name)];
    }),
  );
}

function upstream(name: string, services: string[], files: string[]): UpstreamConfig {
  return { name, services, address: '127.0.0.1:7001', spiffeId: SpiffeId.parse(`spiffe://example.org/tools/${name}`), protos: files, reflection: false };
}

function source(upstreams: UpstreamConfig[], overrides: Partial<SchemaSource> = {}): SchemaSource {
  return { identities: [], metadata: { allow: [] }, upstreams, ...overrides };
}

function generationError(make: () => unknown): SchemaGenerationError {
  try {
    make();
  } catch (err) {
    if (err instanceof SchemaGenerationError) return err;
    throw err;
  }
  throw new Error('expected generation to fail');
}

/** The problems strict validation finds in `policy` against `schema`; [] when it validates. */
function validationProblems(schema: string, policy: string): string[] {
  try {
    PolicySet.fromText({ 'p.cedar': policy }, schema);
    return [];
  } catch (err) {
    if (err instanceof PolicyError && err.code === 'ERR_POLICY_VALIDATION') return [...err.problems];
    throw err;
  }
}

const RICH = `syntax = "proto3";
package demo.v1;
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/empty.proto";
import "common.proto";

service Store {
  rpc Put(PutRequest) returns (google.protobuf.Empty);
  rpc Upload(stream PutRequest) returns (google.protobuf.Empty);
  rpc Walk(Tree) returns (Tree);
  rpc Raw(google.protobuf.Struct) returns (google.protobuf.Empty);
  rpc Odd(String) returns (google.protobuf.Empty);
}

message PutRequest {
  enum Kind { KIND_UNSPECIFIED = 0; KIND_BLOB = 1; }
  message Owner { string team = 1; }
  string object_name = 1;
  int64 size_bytes = 2;
  uint64 checksum = 3;
  bytes payload = 4;
  Kind kind = 5;
  bool dry_run = 6;
  repeated string tags = 7;
  map<string, int32> labels = 8;
  optional string note = 9;
  oneof target { string bucket = 10; Owner owner = 11; }
  Owner created_by = 12;
  google.protobuf.Timestamp expires = 13;
  google.protobuf.Int64Value limit = 14;
  google.protobuf.Struct extra = 15;
  float ratio = 16;
  string in = 17;
  string renamed = 18 [json_name = "aliasName"];
  string part_1a = 19;
  common.Region region = 20;
}

message Tree {
  string name = 1;
  repeated Tree children = 2;
}

message String { string value = 1; }
`;

const COMMON = `syntax = "proto3";
package common;
message Region { string code = 1; }
`;

describe('generateSchema', () => {
  it('generates the committed policies/schema.cedarschema from examples/toolgate.yaml', () => {
    // The committed schema is the generator's output: regenerate it with `toolgate policy schema` when this fails.
    expect(generateSchema(EXAMPLE)).toBe(readFileSync(join(ROOT, 'policies/schema.cedarschema'), 'utf8'));
  });

  it('describes the example config: principals, tools, actions and contexts, and Cedar parses it', () => {
    const schema = generateSchema(EXAMPLE);
    expect(checkParseSchema(schema)).toEqual({ type: 'success' });
    expect(schema).toContain('entity AgentGroup enum ["researchers", "ci", "payroll-owners"];');
    expect(schema).toContain(
      'entity Agent in [AgentGroup] {\n  spiffeId: String,\n  trustDomain: String,\n  team?: String,\n  tier?: String,\n  attributes: MappingAttributes,\n};',
    );
    expect(schema).toContain('entity Workload {\n  spiffeId: String,\n  trustDomain: String,\n  path: String,\n};');
    expect(schema).toContain('entity Tool enum ["toolgate", "files", "notes"];');
    expect(schema).toContain('type Metadata = {\n  "x-task-id"?: String,\n};');
    expect(schema).toContain('action "tools.files.v1.Files";');
    for (const method of ['ReadFile', 'ListDir', 'WriteFile', 'Sync']) {
      expect(schema).toContain(`action "tools.files.v1.Files/${method}" in ["tools.files.v1.Files"] appliesTo {\n  principal: [Agent, Workload],\n  resource: [Tool],`);
    }
    expect(schema).toContain('    request: tools::files::v1::ReadFileRequest,\n  },');
    expect(schema).toContain('    request: tools::files::v1::WriteFileChunk,\n    stream: Stream,\n  },');
    expect(schema).toContain('  type ReadFileRequest = {\n    path: String,\n    maxBytes: Long,\n  };');
    expect(schema).toContain('  type SyncRequest = {\n    path: String,\n    op: String,\n  };');
  });

  it('declares the gateway\'s BeginTask action on Tool::"toolgate", and the optional task, rate and on-behalf-of contexts', () => {
    const schema = generateSchema(EXAMPLE);
    const begin = schema.slice(schema.indexOf('action "toolgate.v1.Tasks/BeginTask"'), schema.indexOf('};', schema.indexOf('action "toolgate.v1.Tasks/BeginTask"')));
    expect(begin).toContain('in ["toolgate.v1.Tasks"] appliesTo');
    expect(begin).toContain('request: toolgate::v1::BeginTaskRequest,');
    expect(begin).toContain('rate?: Rate,');
    expect(begin).not.toContain('task?:'); // a task token does not count on the Tasks service
    expect(schema).toContain('  type BeginTaskRequest = {\n    intent: String,\n    tools: Set<String>,\n    ttlSeconds: Long,');
    const read = schema.slice(schema.indexOf('action "tools.files.v1.Files/ReadFile"'), schema.indexOf('};', schema.indexOf('action "tools.files.v1.Files/ReadFile"')));
    expect(read).toContain('task?: Task,');
    expect(read).toContain('onBehalfOf?: OnBehalfOf,');
    expect(schema).toContain('type Task = {\n  id: String,\n  intent: String,\n  tools: Set<String>,');
    expect(schema.match(/action "toolgate\.v1\.Tasks\/(EndTask|GetTask)"/)).toBeNull();
  });

  it('types request messages in the proto3 JSON mapping', () => {
    const files = protos({ 'store.proto': RICH, 'common.proto': COMMON });
    const schema = generateSchema(source([upstream('store', ['demo.v1.Store'], [files['store.proto'] as string])]));
    expect(checkParseSchema(schema)).toEqual({ type: 'success' });
    const put = schema.slice(schema.indexOf('  type PutRequest = {'), schema.indexOf('  };', schema.indexOf('  type PutRequest = {')));
    expect(put.split('\n').slice(1, -1)).toEqual([
      '    objectName: String,',
      '    sizeBytes: Long,',
      '    checksum: Long,',
      '    payload: String,',
      '    kind: String,',
      '    dryRun: Bool,',
      '    tags: Set<String>,',
      '    labels: Set<{',
      '      key: String,',
      '      value: Long,',
      '    }>,',
      '    note?: String,',
      '    bucket?: String,',
      '    owner?: demo::v1::PutRequest_Owner,',
      '    createdBy?: demo::v1::PutRequest_Owner,',
      '    expires?: String,',
      '    limit?: Long,',
      '    "in": String,',
      '    aliasName: String,',
      '    part1a: String,',
      '    region?: common::Region,',
      '    // extra: left out, free-form JSON (a Cedar record needs its attributes declared)',
      '    // ratio: left out, floating point (Cedar has no such type)',
    ]);
    expect(schema).toContain('namespace common {\n  // common.Region\n  type Region = {\n    code: String,\n  };\n}');
    expect(schema).toContain('    request: demo::v1::PutRequest,\n    stream: Stream,\n  },'); // Upload: client streaming
    expect(schema).toContain('    // request: left out, free-form JSON'); // Raw takes a Struct
    expect(schema).toContain('  type String_ = {\n    value: String,\n  };'); // a type keyword, renamed
  });

  it('writes a recursive message out three levels deep, and says where it stops', () => {
    const files = protos({ 'store.proto': RICH, 'common.proto': COMMON });
    const schema = generateSchema(source([upstream('store', ['demo.v1.Store'], [files['store.proto'] as string])]));
    const walk = schema.slice(schema.indexOf('action "demo.v1.Store/Walk"'), schema.indexOf('action "demo.v1.Store/Raw"'));
    expect(walk.match(/name: String,/g)).toHaveLength(3);
    expect(walk).toContain('// children: left out, demo.v1.Tree nests more than 3 levels deep here');
    expect(schema).not.toContain('type Tree');
  });

  it('lets strict validation refuse what no request carries, naming the policy and the attribute', () => {
    const schema = generateSchema(EXAMPLE);
    const readFile = (when: string) => `@id("p") permit (principal, action == Action::"tools.files.v1.Files/ReadFile", resource) when { ${when} };`;
    expect(validationProblems(schema, readFile('context.request.path like "/reports/*" && context.request.maxBytes <= 1048576'))).toEqual([]);
    const [problem, ...rest] = validationProblems(schema, readFile('context.request.nonexistent == "x"'));
    expect(rest).toEqual([]);
    expect(problem).toMatch(/^policy "p" at p\.cedar:1:\d+: .*`request\.nonexistent`.*not found/);
    // A stream index only on client-streaming methods; a field of another method's message is refused too.
    expect(validationProblems(schema, readFile('context.stream.index == 0'))[0]).toContain('`stream`');
    expect(validationProblems(schema, readFile('context.request.op == "OP_DELETE"'))[0]).toContain('`request.op`');
    // Groups and tools are enumerated: a typo is refused, not left to never match.
    expect(validationProblems(schema, 'permit (principal in AgentGroup::"reserchers", action, resource);')[0]).toContain('"reserchers"');
    expect(validationProblems(schema, 'permit (principal, action, resource == Tool::"fles");')[0]).toContain('"fles"');
  });

  it('makes optional what a request may lack, so policies must test `has` first', () => {
    const files = protos({ 'store.proto': RICH, 'common.proto': COMMON });
    const schema = generateSchema(source([upstream('store', ['demo.v1.Store'], [files['store.proto'] as string])]));
    const put = (when: string) => `permit (principal, action == Action::"demo.v1.Store/Put", resource) when { ${when} };`;
    expect(validationProblems(schema, put('context.request.note == "x"'))[0]).toContain('optional attribute `request.note`');
    expect(validationProblems(schema, put('context.request has note && context.request.note == "x"'))).toEqual([]);
    expect(validationProblems(schema, put('context.request has owner && context.request.owner.team == "x"'))).toEqual([]);
    expect(validationProblems(schema, put('context.request.labels.contains({key: "env", value: 1}) && context.request.tags.contains("a")'))).toEqual([]);
    expect(validationProblems(schema, put('context.request["in"] == "x" && context.request.checksum > 0'))).toEqual([]);
    expect(validationProblems(schema, put('context.request has ratio'))).toEqual([]); // has on a left-out field: always false
    expect(validationProblems(schema, put('context.request.ratio == 1'))[0]).toContain('`request.ratio`');
  });

  it('declares a message that two upstreams load from the same file once', () => {
    const files = protos({
      'store.proto': RICH,
      'common.proto': COMMON,
      'other.proto': 'syntax = "proto3";\npackage other;\nimport "common.proto";\nservice Geo { rpc Get(common.Region) returns (common.Region); }\n',
    });
    const schema = generateSchema(
      source([upstream('store', ['demo.v1.Store'], [files['store.proto'] as string]), upstream('geo', ['other.Geo'], [files['other.proto'] as string])]),
    );
    expect(schema.match(/type Region = /g)).toHaveLength(1);
    expect(schema).toContain('entity Tool enum ["toolgate", "store", "geo"];');
    expect(schema).toContain('    request: common::Region,\n');
  });

  it('types mapping attributes by their values, and refuses one attribute with two types', () => {
    const rule = (attributes: Record<string, string | number | boolean>) => ({ spiffeIdPrefix: 'spiffe://example.org/a/', groups: ['g'], attributes });
    const files = protos({ 'store.proto': RICH, 'common.proto': COMMON });
    const ups = [upstream('store', ['demo.v1.Store'], [files['store.proto'] as string])];
    const schema = generateSchema(source(ups, { identities: [rule({ level: 3, admin: true }), rule({ level: 4, team: 'x' })] }));
    expect(schema).toContain('type MappingAttributes = {\n  level?: Long,\n  admin?: Bool,\n  team?: String,\n};');
    expect(schema).toContain('entity AgentGroup enum ["g"];');
    const err = generationError(() => generateSchema(source(ups, { identities: [rule({ level: 3 }), rule({ level: 'high' })] })));
    expect(err.problems).toEqual(['identities[1].attributes.level is a String but identities[0].attributes.level is a Long: a Cedar attribute has one type']);
  });

  it("needs every upstream's protos, and every routed service in them", () => {
    const files = protos({ 'store.proto': RICH, 'common.proto': COMMON });
    const err = generationError(() =>
      generateSchema(source([upstream('bare', ['x.v1.X'], []), upstream('store', ['demo.v1.Store', 'demo.v1.Missing'], [files['store.proto'] as string])])),
    );
    expect(err.problems).toEqual([
      'upstreams[0] ("bare") has no protos: its methods, and so its actions, cannot be known; list its .proto files under protos',
      'upstreams[1] ("store").services: demo.v1.Missing is defined in none of store.proto',
    ]);
    const broken = protos({ 'bad.proto': 'syntax = "proto3";\nmessage {' });
    expect(generationError(() => generateSchema(source([upstream('bad', ['x.X'], [broken['bad.proto'] as string])]))).problems[0]).toMatch(
      /^upstreams\[0\] \("bad"\)\.protos: .*bad\.proto/,
    );
  });
});
