import { DEFAULTS, LOG_LEVELS } from './defaults';

/*
 * The shape of the config file (docs/config.md) as JSON Schema draft-07, which both ajv
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
  required: ['name'],
  // A gRPC upstream needs its services, address and SPIFFE ID; an MCP one (`mcp`) its URL,
  // and a SPIFFE ID for https (resolve-mcp-upstream.ts, which also refuses the gRPC keys there).
  if: { required: ['mcp'] },
  else: { required: ['services', 'address', 'spiffeId'] },
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
    mcp: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      description: 'This upstream is an MCP server (Streamable HTTP), relayed at /mcp/<name>; then no services, address, protos or reflection.',
      properties: {
        url: {
          type: 'string',
          minLength: 1,
          description: "The MCP endpoint: https (with the upstream's spiffeId, reached over mTLS), or http to a loopback host only.",
        },
        tools: {
          ...path,
          description:
            'The tool catalog (JSON, as `toolgate mcp tools` writes it): the tool definitions pinned (any other is refused) and the tools and prompts `toolgate policy schema` declares actions for. Reloaded without a restart. Without it, tools are pinned on first sight.',
        },
      },
    },
  },
};

const oidcIssuer = {
  issuer: { type: 'string', minLength: 1, description: 'The exact `iss` of the tokens.' },
  audience: { type: 'string', minLength: 1, description: 'The `aud` the tokens must carry.' },
  jwksUri: { type: 'string', minLength: 1, description: "The issuer's JWKS URL: https, or http on loopback only." },
  jwksFile: { ...path, description: "A file holding the issuer's JWKS (instead of jwksUri)." },
};

const positiveInteger = { type: 'integer', minimum: 1 };

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
          description: "Caller trust domains accepted, the complete list. Default: the gateway's own.",
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
        maxConnections: {
          ...positiveInteger,
          default: DEFAULTS.maxConnections,
          description: 'Open connections per listener, TLS handshakes included; more are closed as they arrive.',
        },
        handshakesPerTurn: {
          ...positiveInteger,
          default: DEFAULTS.handshakesPerTurn,
          description: 'TLS handshakes each listener starts per turn of the event loop; more accepted connections wait, unread, for the next turns.',
        },
        handshakesPerSecond: {
          type: 'number',
          exclusiveMinimum: 0,
          default: DEFAULTS.handshakesPerSecond,
          description: 'TLS handshakes each listener starts per second at most; more accepted connections wait, unread.',
        },
        connectionIdleSeconds: {
          type: 'number',
          exclusiveMinimum: 0,
          default: DEFAULTS.connectionIdleSeconds,
          description: 'A connection with no open call and no traffic for this long is sent GOAWAY and closed.',
        },
        perCaller: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            maxConcurrentCalls: {
              ...positiveInteger,
              default: DEFAULTS.perCallerMaxConcurrentCalls,
              description: 'Calls (streams) one caller SPIFFE ID may have open at once on this replica; past it, RESOURCE_EXHAUSTED.',
            },
            maxConnections: {
              ...positiveInteger,
              default: DEFAULTS.perCallerMaxConnections,
              description: 'mTLS connections one caller SPIFFE ID may hold at once on this replica; more are closed after the handshake.',
            },
          },
        },
        streamIdleSeconds: {
          type: 'number',
          exclusiveMinimum: 0,
          default: DEFAULTS.streamIdleSeconds,
          description: 'A call on which no byte moved either way for this long is ended with UNAVAILABLE, and cancelled upstream.',
        },
        agentRate: {
          type: 'object',
          additionalProperties: false,
          required: ['perSecond', 'burst'],
          description: 'A token bucket per agent (per principal) on every call; exceeding it gives RESOURCE_EXHAUSTED.',
          properties: {
            perSecond: { type: 'number', exclusiveMinimum: 0, description: 'Tokens added per second.' },
            burst: { ...positiveInteger, description: 'Bucket size: calls allowed at once after a quiet period.' },
          },
        },
      },
    },
    tasks: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        maxTtlSeconds: { ...positiveInteger, default: DEFAULTS.taskMaxTtlSeconds, description: 'The longest TTL BeginTask may ask for.' },
        maxOpenPerCaller: {
          ...positiveInteger,
          default: DEFAULTS.taskMaxOpenPerCaller,
          description: 'Open (not ended, not expired) tasks one caller (SPIFFE ID) may hold; BeginTask past it answers RESOURCE_EXHAUSTED.',
        },
      },
    },
    credentials: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        signingKeyFile: {
          ...path,
          description: 'An EC P-256 private JWK (`toolgate signing-key` makes one), e.g. from a Secret shared by replicas. Default: generated at start.',
        },
        rotateSeconds: { ...positiveInteger, default: DEFAULTS.keyRotateSeconds, description: 'How often a generated signing key is replaced.' },
        upstreamTokenTtlSeconds: {
          type: 'integer',
          minimum: 1,
          maximum: 60,
          default: DEFAULTS.upstreamTokenTtlSeconds,
          description: "Lifetime of the per-call JWT sent to upstreams; never past the task's end.",
        },
        upstreamTokenReuseSeconds: {
          type: 'integer',
          minimum: 0,
          maximum: 59,
          default: DEFAULTS.upstreamTokenReuseSeconds,
          description:
            'How long a signed upstream JWT is reused for further calls with the same claims (caller, upstream, method, task, agent, on-behalf-of); less than upstreamTokenTtlSeconds. 0: a fresh token with its own jti per call. Default: 5, or upstreamTokenTtlSeconds - 1 if less.',
        },
      },
    },
    approvals: {
      type: ['object', 'null'],
      additionalProperties: false,
      description: 'Calls that @approval permits escalate to a person (docs/approvals.md).',
      properties: {
        holdSeconds: {
          type: 'integer',
          minimum: 0,
          maximum: 3600,
          default: DEFAULTS.approvalHoldSeconds,
          description: "How long an escalated call is held for its approval, never past the call's deadline; 0 answers FAILED_PRECONDITION at once.",
        },
        defaultTtlSeconds: {
          ...positiveInteger,
          default: DEFAULTS.approvalTtlSeconds,
          description: 'How long an approval request stays valid when its permit has no @approvalTtl.',
        },
        maxTtlSeconds: { ...positiveInteger, default: DEFAULTS.approvalMaxTtlSeconds, description: "The cap on an approval request's validity, @approvalTtl included." },
        maxPendingPerCaller: {
          ...positiveInteger,
          default: DEFAULTS.approvalMaxPendingPerCaller,
          description: 'Pending approval requests one caller (SPIFFE ID) may have at once; one more escalated call is refused RESOURCE_EXHAUSTED (APPROVAL_LIMIT).',
        },
        console: {
          type: ['object', 'null'],
          additionalProperties: false,
          required: ['listen', 'proxy'],
          description: 'The approvers\' console in the browser, behind an auth proxy (docs/approvals.md, "The console").',
          properties: {
            listen: hostPort,
            proxy: {
              type: 'object',
              additionalProperties: false,
              required: ['spiffeId', 'trustDomain'],
              description: 'The auth proxy: the only client the console listener accepts (mTLS), and the header it names the person in.',
              properties: {
                spiffeId,
                userHeader: {
                  type: 'string',
                  pattern: '^[A-Za-z0-9-]+$',
                  default: DEFAULTS.approvalConsoleUserHeader,
                  description: 'an HTTP header name, e.g. X-Forwarded-User',
                },
                trustDomain: { type: 'string', description: 'the trust domain of the SPIFFE IDs people get: spiffe://<trustDomain>/<user>' },
              },
            },
            redact: {
              type: ['array', 'null'],
              default: [],
              items: {
                type: 'string',
                pattern: '^(\\*|[A-Za-z0-9_-]+)(\\.(\\*|[A-Za-z0-9_-]+))*$',
                description: 'a field name (at any depth) or a dotted path whose segments may be *, e.g. password or *.secret',
              },
            },
          },
        },
        webhook: {
          type: ['object', 'null'],
          additionalProperties: false,
          required: ['url', 'secretFile'],
          description: 'POST each new approval request, signed per Standard Webhooks, to a chat bot or ticket system (docs/approvals.md, "Webhook").',
          properties: {
            url: { type: 'string', minLength: 1, description: 'Where to POST: https, or http to a loopback host only. Never logged (it may hold a secret path).' },
            secretFile: { ...path, description: 'One or more lines whsec_<base64 of 24-64 random bytes>; each signs every message. Read at start and on reload.' },
            timeoutSeconds: { type: 'integer', minimum: 1, maximum: 60, default: DEFAULTS.approvalWebhookTimeoutSeconds, description: "One attempt's limit." },
            maxAttempts: { type: 'integer', minimum: 1, maximum: 20, default: DEFAULTS.approvalWebhookMaxAttempts, description: 'Attempts per notice, the first included.' },
            maxQueued: {
              type: 'integer',
              minimum: 1,
              maximum: 100000,
              default: DEFAULTS.approvalWebhookMaxQueued,
              description: 'Notices queued on this replica; one more drops the oldest (counted).',
            },
          },
        },
      },
    },
    state: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        redis: {
          type: 'object',
          additionalProperties: false,
          description: 'Share tasks, revocations and counters between replicas in Redis; exactly one of url and urlEnv.',
          properties: {
            url: { type: 'string', minLength: 1, description: 'redis://host:port/db, rediss://… or unix:///path.sock.' },
            urlEnv: { type: 'string', minLength: 1, description: 'The environment variable holding the URL (keeps a password out of the file).' },
            keyPrefix: { type: 'string', default: DEFAULTS.redisKeyPrefix },
          },
        },
      },
    },
    workloadTokens: {
      type: 'object',
      additionalProperties: false,
      required: ['listen'],
      description: 'A second listener for callers that cannot present an X.509-SVID: TLS, and a JWT-SVID or OIDC token per call.',
      properties: {
        listen: hostPort,
        jwtSvid: { type: 'boolean', default: DEFAULTS.workloadJwtSvid, description: "Accept JWT-SVIDs whose audience is the gateway's SPIFFE ID." },
        oidc: {
          type: ['array', 'null'],
          default: [],
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['issuer', 'audience', 'trustDomain'],
            properties: {
              ...oidcIssuer,
              trustDomain: { type: 'string', description: "The trust domain of the callers' SPIFFE IDs: spiffe://<trustDomain>/<sub with ':' as '/'>." },
            },
          },
        },
      },
    },
    onBehalfOf: {
      type: 'object',
      additionalProperties: false,
      required: ['issuer', 'audience'],
      description: 'The OIDC issuer of user tokens sent as x-toolgate-on-behalf-of, exposed as context.onBehalfOf.',
      properties: oidcIssuer,
    },
    drainTimeoutSeconds: { type: 'number', minimum: 0, default: DEFAULTS.drainTimeoutSeconds },
    decisionLog: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        destination: { ...path, default: DEFAULTS.decisionLogDestination, description: '"stdout", or a file to append to.' },
        checkpointKeyFile: {
          ...path,
          description:
            'An Ed25519 signed-note signer key (`toolgate audit key` makes one) that signs the checkpoints, e.g. from a Secret shared by replicas. Default: generated at start.',
        },
        checkpointRecords: { ...positiveInteger, default: DEFAULTS.checkpointRecords, description: 'A signed checkpoint after this many records.' },
        checkpointSeconds: { ...positiveInteger, default: DEFAULTS.checkpointSeconds, description: 'A signed checkpoint at least this often, idle or not.' },
      },
    },
    logLevel: { type: 'string', enum: [...LOG_LEVELS], default: DEFAULTS.logLevel },
    policyEngine: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        fastPath: {
          type: 'boolean',
          default: DEFAULTS.policyFastPath,
          description:
            'Decide in JS, without cedar-wasm, the calls whose policies are all in the compiled Cedar subset and on which no policy errors (docs/policies.md, "Fast path").',
        },
        fastPathCheckEvery: {
          type: 'integer',
          minimum: 0,
          default: DEFAULTS.policyFastPathCheckEvery,
          description: "One fast decision in this many is also decided by cedar-wasm; a disagreement is counted and logged, and cedar-wasm's decision is used. 0: never.",
        },
      },
    },
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
