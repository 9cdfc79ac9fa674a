import type { AttributeValue, IdentityRule } from '../identity/identity-rule';
import { BOOL, cedarString, LONG, named, record, renderType, STRING, type SchemaAttribute, type SchemaType } from './schema-text';

/**
 * The principal entity types of the Cedar model (docs/policies.md, "The model") for one set of identity
 * rules, as schema text: `AgentGroup`, `Agent` and `Workload`, shaped as the identity mapper
 * builds them (src/identity/identity-mapper.ts). Reports attributes that two rules give
 * different types to `problems`, since a Cedar attribute has one type.
 */
export function principalDeclarations(identities: readonly IdentityRule[], problems: string[]): string {
  const attributes = mappingAttributes(identities, problems);
  const groups = [...new Set(identities.flatMap((rule) => rule.groups))];
  const common: SchemaAttribute[] = [
    { name: 'spiffeId', type: STRING, required: true },
    { name: 'trustDomain', type: STRING, required: true },
  ];
  return [
    '// The `groups` of the identity rules. Enumerated, so that a policy naming a group no rule',
    '// assigns (a typo) fails validation instead of never matching.',
    groups.length === 0 ? 'entity AgentGroup;' : `entity AgentGroup enum [${groups.map(cedarString).join(', ')}];`,
    '',
    '// The `attributes` of the identity rules. Each is optional, even when every rule sets it, so',
    '// that a rule added later cannot make a policy fail at run time: test `has` first.',
    `type MappingAttributes = ${renderType(record(attributes))};`,
    '',
    '// A SPIFFE ID an identity rule maps to an agent. Its mapping attributes appear both at top',
    '// level (`principal.tier`) and in the record `attributes` (`principal.attributes.tier`).',
    `entity Agent in [AgentGroup] ${renderType(record([...common, ...attributes, { name: 'attributes', type: named('MappingAttributes'), required: true }]))};`,
    '',
    '// A SPIFFE ID from an accepted trust domain that no identity rule matches.',
    `entity Workload ${renderType(record([...common, { name: 'path', type: STRING, required: true }]))};`,
  ].join('\n');
}

/** Every mapping attribute any rule sets, in first-seen order, typed by its values. */
function mappingAttributes(identities: readonly IdentityRule[], problems: string[]): SchemaAttribute[] {
  const seen = new Map<string, { type: SchemaType; rule: number }>();
  identities.forEach((rule, i) => {
    for (const [name, value] of Object.entries(rule.attributes)) {
      const type = typeOf(value);
      const first = seen.get(name);
      if (first === undefined) seen.set(name, { type, rule: i });
      else if (first.type !== type) {
        problems.push(
          `identities[${i}].attributes.${name} is a ${type.kind} but identities[${first.rule}].attributes.${name} is a ${first.type.kind}: ` + 'a Cedar attribute has one type',
        );
      }
    }
  });
  return [...seen].map(([name, { type }]) => ({ name, type, required: false }));
}

function typeOf(value: AttributeValue): SchemaType {
  if (typeof value === 'string') return STRING;
  return typeof value === 'number' ? LONG : BOOL;
}
