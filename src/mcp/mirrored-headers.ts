import type { McpBody } from './mcp-body';

/**
 * Streamable HTTP (draft 2026-07-28, "Request Metadata") mirrors body fields into headers so
 * that intermediaries can route without parsing: `Mcp-Method` (the method) and `Mcp-Name`
 * (`params.name` of tools/call and prompts/get, `params.uri` of resources/read), a value
 * outside plain ASCII as `=?base64?…?=`. A server or a proxy beside the gateway may act on
 * the header while policy decided on the body, so a header naming one tool over a body
 * calling another is the classic confused-deputy split. The gateway decides on the body;
 * the caller's headers must agree with it (checked here), and the headers sent upstream are
 * the gateway's own, written from the decided body (`mirroredHeadersFor`).
 */
export const MCP_METHOD_HEADER = 'mcp-method';
export const MCP_NAME_HEADER = 'mcp-name';

/** JSON-RPC error code of a header that disagrees with the body (draft transport: `HeaderMismatch`). */
export const HEADER_MISMATCH = -32020;

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** Why the caller's mirrored headers disagree with `body`, or undefined when they agree (or are absent). */
export function mirroredHeaderMismatch(headers: Headers, body: McpBody): string | undefined {
  const method = headers[MCP_METHOD_HEADER];
  const name = headers[MCP_NAME_HEADER];
  if (method === undefined && name === undefined) return undefined;
  const message = body.messages[0];
  if (body.batch || message === undefined || message.kind === 'response') {
    return 'Mcp-Method and Mcp-Name describe one request or notification, but the body is a batch or a response';
  }
  if (method !== undefined && decodeHeaderValue(method) !== message.method) {
    return `the Mcp-Method header does not name the body's method (${JSON.stringify(message.method.slice(0, 60))})`;
  }
  if (name !== undefined && decodeHeaderValue(name) !== bodyName(body)) {
    return "the Mcp-Name header does not name the body's tool, prompt or resource";
  }
  return undefined;
}

/** The mirrored headers for `body` as the gateway sends them upstream: none for a batch or a response. */
export function mirroredHeadersFor(body: McpBody): Record<string, string> {
  const message = body.messages[0];
  if (body.batch || message === undefined || message.kind === 'response') return {};
  const headers: Record<string, string> = { [MCP_METHOD_HEADER]: encodeHeaderValue(message.method) };
  const name = bodyName(body);
  if (name !== undefined) headers[MCP_NAME_HEADER] = encodeHeaderValue(name);
  return headers;
}

function bodyName(body: McpBody): string | undefined {
  const message = body.messages[0];
  if (message === undefined || message.kind === 'response' || message.params === undefined) return undefined;
  const field = message.method === 'resources/read' ? message.params.uri : message.method === 'tools/call' || message.method === 'prompts/get' ? message.params.name : undefined;
  return typeof field === 'string' ? field : undefined;
}

const SENTINEL = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/;

/**
 * A header value as the body's string: the Base64 sentinel decoded (as UTF-8, strictly);
 * undefined for a repeated header (Node gives an array, or joins unknown ones with ", ",
 * which then cannot match) or a sentinel that does not decode.
 */
export function decodeHeaderValue(value: string | string[]): string | undefined {
  if (Array.isArray(value)) return undefined;
  const sentinel = SENTINEL.exec(value);
  if (sentinel === null) return value;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(sentinel[1]!, 'base64'));
  } catch {
    return undefined;
  }
}

/** The draft's value encoding: visible ASCII and inner spaces as they are; anything else, or a value that looks like the sentinel, as Base64. */
export function encodeHeaderValue(value: string): string {
  const plain = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value) && !(value.startsWith('=?base64?') && value.endsWith('?='));
  return plain ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}
