/**
 * Cedar schema types as the schema generator builds them, and their rendering in Cedar's
 * human-readable schema syntax. The generator builds values of these types first and writes
 * text last, so that naming and quoting rules live in one place.
 */
export type SchemaType =
  | { readonly kind: 'Long' | 'String' | 'Bool' }
  | { readonly kind: 'Set'; readonly element: SchemaType }
  | { readonly kind: 'Record'; readonly attributes: readonly SchemaAttribute[]; readonly omitted: readonly OmittedAttribute[] }
  /** A common type or an entity type, by its (qualified) Cedar name. */
  | { readonly kind: 'Named'; readonly name: string };

export interface SchemaAttribute {
  readonly name: string;
  readonly type: SchemaType;
  readonly required: boolean;
}

/** A field that has no Cedar type: written as a comment, so a reader of the schema sees why it is missing. */
export interface OmittedAttribute {
  readonly name: string;
  readonly reason: string;
}

export const LONG: SchemaType = { kind: 'Long' };
export const STRING: SchemaType = { kind: 'String' };
export const BOOL: SchemaType = { kind: 'Bool' };

export function setOf(element: SchemaType): SchemaType {
  return { kind: 'Set', element };
}

export function named(name: string): SchemaType {
  return { kind: 'Named', name };
}

export function record(attributes: readonly SchemaAttribute[], omitted: readonly OmittedAttribute[] = []): SchemaType {
  return { kind: 'Record', attributes, omitted };
}

/** Cedar's reserved identifiers: never an attribute, namespace or type name unquoted. */
const RESERVED = new Set(['true', 'false', 'if', 'then', 'else', 'in', 'is', 'like', 'has', '__cedar']);
/** Names a common type may not take: the schema's own type keywords. */
const TYPE_KEYWORDS = new Set(['Bool', 'Boolean', 'Entity', 'Extension', 'Long', 'Record', 'Set', 'String']);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `name` as an identifier usable for a namespace part or a common type: reserved words get a trailing `_`. */
export function safeIdentifier(name: string): string {
  return RESERVED.has(name) || TYPE_KEYWORDS.has(name) ? `${name}_` : name;
}

/** A Cedar string literal. Cedar escapes code points as `\u{…}`, unlike JSON's `\uXXXX`. */
export function cedarString(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is escaped
  const escaped = value.replace(/[\\"\u0000-\u001f\u007f]/g, (c) => {
    if (c === '\\' || c === '"') return `\\${c}`;
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    return `\\u{${c.charCodeAt(0).toString(16)}}`;
  });
  return `"${escaped}"`;
}

/** An attribute name as written in a record type: bare when Cedar allows it, else quoted. */
export function attributeName(name: string): string {
  return IDENTIFIER.test(name) && !RESERVED.has(name) ? name : cedarString(name);
}

/** `type` as schema text; records span lines, indented from `indent`. */
export function renderType(type: SchemaType, indent = ''): string {
  switch (type.kind) {
    case 'Long':
    case 'String':
    case 'Bool':
      return type.kind;
    case 'Set':
      return `Set<${renderType(type.element, indent)}>`;
    case 'Named':
      return type.name;
    case 'Record': {
      if (type.attributes.length === 0 && type.omitted.length === 0) return '{}';
      const inner = `${indent}  `;
      const lines = type.attributes.map((a) => `${inner}${attributeName(a.name)}${a.required ? '' : '?'}: ${renderType(a.type, inner)},`);
      for (const o of type.omitted) lines.push(`${inner}// ${o.name}: left out, ${o.reason}`);
      return `{\n${lines.join('\n')}\n${indent}}`;
    }
  }
}
