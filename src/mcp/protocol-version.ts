/**
 * The MCP protocol versions the relay knows, newest first. A request naming another version
 * in `MCP-Protocol-Version` is refused (400), as the transport spec requires of a server: the
 * gateway cannot vouch for what it does not know.
 */
export const KNOWN_PROTOCOL_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05', '2024-10-07'] as const;
export type ProtocolVersion = (typeof KNOWN_PROTOCOL_VERSIONS)[number];

/**
 * The version a server assumes when a request names none and it has no other way to know
 * (Streamable HTTP, "Protocol Version Header": "the server SHOULD assume protocol version
 * 2025-03-26").
 */
export const DEFAULT_PROTOCOL_VERSION: ProtocolVersion = '2025-03-26';

export function isKnownProtocolVersion(value: string): value is ProtocolVersion {
  return (KNOWN_PROTOCOL_VERSIONS as readonly string[]).includes(value);
}

/**
 * JSON-RPC batches exist in 2025-03-26 only: that revision added them ("Batching") and
 * 2025-06-18 removed them. 2024-11-05 never defined them.
 */
export function allowsBatches(version: ProtocolVersion): boolean {
  return version === '2025-03-26';
}
