import { DEFAULTS, LOG_LEVELS } from './defaults';

/*
 * The shape of the config file (architecture §3) as JSON Schema draft-07, which both ajv
 * and Helm's values.schema.json understand. It checks types, required keys and unknown
 * keys; what needs code (SPIFFE ID syntax, addresses, files on disk, cross-references)
 * is checked after it. A `description` on a `pattern` is a noun phrase: error messages
 * read `"<value>" is not <description>`.
 *
 * Optional sections and lists may also be empty (null), which is what YAML makes of a key
 * whose contents are all commented out; they then take their defaults.
 */

const hostPort = {
  type: 'string',
  description: 'an address host:port, e.g. 0.0.0.0:8443 or [::]:8443',
};

const spiffeId = {
  type: 'string',
  description: 'a SPIFFE ID, e.g. spiffe://example.org/tools/files',
};

const path = {
  type: 'string',
  minLength: 1,
  description: "a path; a relative path resolves against the config file's folder",
};

const identityRule = {
  type: 'object',
  additionalProperties: false,
  description: 'One mapping from SPIFFE IDs to an agent; exactly one of spiffeId and spiffeIdPrefix.',
  properties: {
    spiffeId,
    spiffeIdPrefix: {
      type: 'string',
      description: 'a SPIFFE ID prefix ending in "/", e.g. spiffe://example.org/agents/ci/',
    },
    agent: { type: 'string', minLength: 1, description: 'The agent name of Agent::"<agent>".' },
    groups: {
      type: ['array', 'null'],
      uniqueItems: true,
      default: [],
      items: { type: 'string', minLength: 1, description: 'An AgentGroup the agent belongs to.' },
    },
    attributes: {
      type: ['object', 'null'],
      default: {},
      propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'an attribute name (letters, digits, _)' },
      additionalProperties: {
        type: ['string', 'integer', 'boolean'],
        // Cedar's Long is 64-bit, but a JavaScript number is exact only up to 2^53.
        minimum: -Number.MAX_SAFE_INTEGER,
        maximum: Number.MAX_SAFE_INTEGER,
      },
    },
  },
};

const upstream = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'services', 'address', 'spiffeId'],
  properties: {
    name: {
      type: 'string',
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
      description: 'an upstream name (letters, digits, ".", "_", "-"), e.g. files',
    },
    services: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: {
        type: 'string',
        pattern: '^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*$',
        description: 'a fully-qualified gRPC service name, e.g. tools.files.v1.Files',
      },
    },
    address: hostPort,
    spiffeId,
    protos: { type: ['array', 'null'], uniqueItems: true, default: [], items: path },
    reflection: { type: ['boolean', 'null'], default: false },
  },
};

export const configSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'toolgate config',
  type: 'object',
  additionalProperties: false,
  required: ['policies', 'upstreams'],
  properties: {
    spiffe: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        endpointSocket: {
          type: 'string',
          description: 'Workload API address, unix:///path or tcp://ip:port. Default: $SPIFFE_ENDPOINT_SOCKET.',
        },
        trustDomains: {
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          description: 'Caller trust domains accepted, the complete list. Default: the gateway\'s own.',
          items: { type: 'string' },
        },
      },
    },
    listen: { ...hostPort, default: DEFAULTS.listen },
    admin: {
      type: ['string', 'boolean'],
      default: DEFAULTS.admin,
      description: 'host:port of the admin HTTP listener, or false for none.',
    },
    policies: path,
    shadowPolicies: { ...path, description: 'A folder of candidate policies evaluated beside the live ones; default: <policies>/shadow when it exists.' },
    identities: { type: ['array', 'null'], default: [], items: identityRule },
    upstreams: { type: 'array', minItems: 1, items: upstream },
    metadata: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        allow: {
          type: ['array', 'null'],
          uniqueItems: true,
          default: [],
          items: {
            type: 'string',
            pattern: '^[a-z0-9_.-]+$',
            description: 'a lowercase gRPC metadata key (a-z, 0-9, "_", ".", "-"), e.g. x-request-id',
          },
        },
      },
    },
    limits: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        maxMessageBytes: { type: 'integer', minimum: 1, default: DEFAULTS.maxMessageBytes },
        maxConcurrentStreams: { type: 'integer', minimum: 1 },
      },
    },
    drainTimeoutSeconds: { type: 'number', minimum: 0, default: DEFAULTS.drainTimeoutSeconds },
    decisionLog: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        destination: { ...path, default: DEFAULTS.decisionLogDestination, description: '"stdout", or a file to append to.' },
      },
    },
    logLevel: { type: 'string', enum: [...LOG_LEVELS], default: DEFAULTS.logLevel },
    reload: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        watch: {
          type: 'boolean',
          default: DEFAULTS.reloadWatch,
          description: 'Reload when the config file or a policy folder changes (SIGHUP always reloads).',
        },
        debounceMs: {
          type: 'integer',
          minimum: 0,
          default: DEFAULTS.reloadDebounceMs,
          description: 'Quiet time after the last change before reloading, so that a burst of writes is read once.',
        },
      },
    },
  },
};
