import * as crypto from 'node:crypto';

/** The `requestDigest` of a decision record: `sha256:` and the hex SHA-256 of the request message's bytes. */
export type RequestDigest = `sha256:${string}`;

const PREFIX = 'sha256:';

/**
 * The digest of a request message as the relay forwards it (docs/decision-records.md,
 * "The request digest"): the canonical protobuf re-encoding of a gRPC message, the canonical
 * JSON text (UTF-8) of an MCP message. Hex, prefixed with its algorithm, so that an auditor
 * compares it with `sha256sum` of what the tool received. One-shot `crypto.hash` where Node
 * has it (20.12+), as the chain does.
 */
export function requestDigest(message: Uint8Array | string): RequestDigest {
  const hex = typeof crypto.hash === 'function' ? crypto.hash('sha256', message, 'hex') : crypto.createHash('sha256').update(message).digest('hex');
  return `${PREFIX}${hex}`;
}

/** The 32 bytes a `requestDigest` names. Throws on anything that is not one. */
export function requestDigestBytes(digest: string): Buffer {
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new TypeError(`not a request digest: ${digest.slice(0, 80)}`);
  return Buffer.from(digest.slice(PREFIX.length), 'hex');
}
