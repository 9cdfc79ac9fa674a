import type { Mapped } from './proto-types';
import { BOOL, LONG, record, setOf, STRING, type OmittedAttribute, type SchemaAttribute, type SchemaType } from './schema-text';

/** How deep nested objects and arrays are written out; deeper members are left out (a schema's size stays bounded). */
export const JSON_SCHEMA_DEPTH = 16;

type JsonSchema = Readonly<Record<string, unknown>>;

/**
 * `context.request` of an MCP tool call, typed from the tool's `inputSchema` (a JSON Schema
 * object), exactly as the relay renders the arguments (src/mcp/cedar-arguments.ts): strings
 * (and string enums) as String, integers as Long, booleans as Bool, arrays as Sets of their
 * item type, objects with `properties` as records, `required` members required and the others
 * optional. What the relay may render in more than one way, or not at all, has no one Cedar
 * type and is left out, with the reason as a comment, as floats are for gRPC: `number` (a
 * fraction is left out at run time, a whole number arrives as a Long), `null`, and whatever
 * has no single clear type (anyOf/oneOf/allOf, `$ref`, a list of types, a map given only by
 * `additionalProperties`, no `type` at all). A policy cannot read what is left out (strict
 * validation refuses it); the server still receives it.
 */
export function argumentsRecord(inputSchema: JsonSchema | undefined): SchemaType {
  if (inputSchema === undefined) return record([]);
  const mapped = objectType(inputSchema, 0);
  return 'type' in mapped ? mapped.type : record([], [{ name: '(arguments)', reason: mapped.omitted }]);
}

function objectType(schema: JsonSchema, depth: number): Mapped {
  const unclear = unclearType(schema);
  if (unclear !== undefined) return { omitted: unclear };
  if (schema.type !== 'object') return { omitted: 'not an object schema' };
  const properties = schema.properties;
  if (!isSchema(properties)) {
    return { omitted: 'an object without `properties` (a map, or free-form: a Cedar record needs its attributes declared)' };
  }
  const required = new Set(Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === 'string') : []);
  const attributes: SchemaAttribute[] = [];
  const omitted: OmittedAttribute[] = [];
  for (const [name, member] of Object.entries(properties)) {
    const mapped = isSchema(member) ? valueType(member, depth + 1) : { omitted: 'its schema is not an object' };
    if ('type' in mapped) attributes.push({ name, type: mapped.type, required: required.has(name) });
    else omitted.push({ name, reason: mapped.omitted });
  }
  return { type: record(attributes, omitted) };
}

function valueType(schema: JsonSchema, depth: number): Mapped {
  if (depth > JSON_SCHEMA_DEPTH) return { omitted: `nested deeper than ${JSON_SCHEMA_DEPTH} levels` };
  const unclear = unclearType(schema);
  if (unclear !== undefined) return { omitted: unclear };
  switch (schema.type) {
    case 'string':
      return { type: STRING };
    case 'integer':
      // The strict parser refuses integers beyond ±(2^53 − 1): each one reaches Cedar exactly.
      return { type: LONG };
    case 'boolean':
      return { type: BOOL };
    case 'number':
      return { omitted: 'a number may be fractional: a fraction has no Cedar type (left out at run time), a whole number arrives as a Long' };
    case 'null':
      return { omitted: 'null has no Cedar type' };
    case 'array': {
      if (!isSchema(schema.items)) return { omitted: 'an array without one `items` schema' };
      const item = valueType(schema.items, depth + 1);
      return 'type' in item ? { type: setOf(item.type) } : { omitted: `an array whose items have no Cedar type (${item.omitted})` };
    }
    case 'object':
      return objectType(schema, depth);
    case undefined:
      // A string enum without `type` is still only strings.
      if (Array.isArray(schema.enum) && schema.enum.length > 0 && schema.enum.every((v) => typeof v === 'string')) return { type: STRING };
      return { omitted: 'no `type`' };
    default:
      return { omitted: `type ${JSON.stringify(schema.type)} has no one Cedar type` };
  }
}

const ENUM_FITS: Readonly<Record<string, (value: unknown) => boolean>> = {
  string: (v) => typeof v === 'string',
  integer: (v) => Number.isInteger(v),
  boolean: (v) => typeof v === 'boolean',
};

/** Why a schema has no single clear type, or undefined when its `type` says it. */
function unclearType(schema: JsonSchema): string | undefined {
  for (const keyword of ['$ref', 'anyOf', 'oneOf', 'allOf', 'not', 'if']) {
    if (schema[keyword] !== undefined) return `\`${keyword}\` has no one clear Cedar type`;
  }
  if (Array.isArray(schema.type)) return 'a list of types has no one Cedar type';
  // An enum of a typed schema must hold that type's values only; anything else is unclear.
  const fits = ENUM_FITS[schema.type as string];
  if (Array.isArray(schema.enum) && fits !== undefined && !schema.enum.every(fits)) return `an enum of values that are not all of type ${String(schema.type)}`;
  return undefined;
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
