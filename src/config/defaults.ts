import { DEFAULT_MAX_OPEN_PER_CALLER } from '../tasks/task';

/**
 * Defaults of the optional config keys, in the user's terms. The JSON Schema shows them
 * as `default` annotations and the resolver applies them, so they are written once.
 */
export const DEFAULTS = {
  listen: '0.0.0.0:8443',
  admin: '127.0.0.1:9090',
  maxMessageBytes: 4 * 1024 * 1024,
  perCallerMaxConcurrentCalls: 64,
  streamIdleSeconds: 300,
  // An idle mTLS connection holds ~74 KiB in the gateway (TLS and HTTP/2 session buffers,
  // measured with 2,000): 1,024 per listener bound that to ~75 MiB.
  maxConnections: 1024,
  // As many connections as calls: one caller (often many pods under one SPIFFE ID) may hold
  // 1/16 of the default listener cap.
  perCallerMaxConnections: 64,
  connectionIdleSeconds: 300,
  // A server-side TLS 1.3 handshake is ~0.5 ms of the gateway's one thread: 8 started per turn
  // of the event loop keep one turn's handshake work to a few ms, so calls in flight wait at
  // most that for a crowd of new connections (see HandshakeQueue).
  handshakesPerTurn: 8,
  // ~2.5 ms of CPU each (Node 20's OpenSSL 3.0): 100 a second take a quarter of a core, so the
  // calls in flight keep their latency while a crowd connects (measured: a well-behaved caller's
  // p99 unchanged through 2,000 connections at 100/s, 2.8× at 200/s, 4× with no rate), and
  // 1,000 agents reconnecting at once are all in within 10 s.
  handshakesPerSecond: 100,
  drainTimeoutSeconds: 15,
  decisionLogDestination: 'stdout',
  checkpointRecords: 1000,
  checkpointSeconds: 10,
  logLevel: 'info',
  reloadWatch: true,
  reloadDebounceMs: 300,
  // On since issue 15: exact by construction, proven against cedar-wasm by differential tests,
  // and re-checked in production (docs/policies.md, "Fast path").
  policyFastPath: true,
  policyFastPathCheckEvery: 1000,
  taskMaxTtlSeconds: 3600,
  taskMaxOpenPerCaller: DEFAULT_MAX_OPEN_PER_CALLER,
  keyRotateSeconds: 86_400,
  upstreamTokenTtlSeconds: 60,
  // A call token serves the calls with the same claims for 5 s after it was signed (docs/tasks.md):
  // at most one ES256 signature per claim set per 5 s, each token still expiring <= ttl after
  // any call it goes with and never past the task's end. Capped at the ttl - 1 when unset.
  upstreamTokenReuseSeconds: 5,
  redisKeyPrefix: 'toolgate:',
  approvalHoldSeconds: 30,
  approvalTtlSeconds: 600,
  approvalMaxTtlSeconds: 3600,
  approvalMaxPendingPerCaller: 16,
  approvalConsoleUserHeader: 'X-Forwarded-User',
  approvalWebhookTimeoutSeconds: 10,
  approvalWebhookMaxAttempts: 10,
  approvalWebhookMaxQueued: 1000,
  workloadJwtSvid: true,
} as const;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
