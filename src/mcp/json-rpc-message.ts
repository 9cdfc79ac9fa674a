import { McpMessageError } from './mcp-message-error';
import type { JsonObject, JsonValue } from './strict-json';

/** MCP request ids are strings or integers, never null (basic/index: "MUST NOT be null"). */
export type JsonRpcId = string | number;

export interface ClientRequest {
  readonly kind: 'request';
  readonly id: JsonRpcId;
  readonly method: string;
  readonly params: JsonObject | undefined;
}

export interface ClientNotification {
  readonly kind: 'notification';
  readonly method: string;
  readonly params: JsonObject | undefined;
}

/** The client's answer to a server request (sampling, elicitation, roots/list, ping). */
export interface ClientResponse {
  readonly kind: 'response';
  readonly id: JsonRpcId;
}

export type ClientMessage = ClientRequest | ClientNotification | ClientResponse;

const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const RESULT_KEYS = new Set(['jsonrpc', 'id', 'result']);
const ERROR_KEYS = new Set(['jsonrpc', 'id', 'error']);
const ERROR_OBJECT_KEYS = new Set(['code', 'message', 'data']);

function invalid(message: string): McpMessageError {
  return new McpMessageError('ERR_MCP_INVALID', `Invalid Request: ${message}`);
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * One client→server JSON-RPC 2.0 message, read strictly: exactly the members JSON-RPC and
 * MCP define for its kind and no other, `jsonrpc` exactly "2.0", `params` an object (MCP
 * never uses by-position params), ids strings or integers. A member the gateway does not
 * know could be read by a server that does (a future `params` alias, an `id` in another
 * place), so it is refused rather than relayed unseen. `at` names the message in errors
 * (`$`, `$[1]`).
 */
export function readClientMessage(value: JsonValue, at: string): ClientMessage {
  if (!isJsonObject(value)) throw invalid(`${at} is not a JSON-RPC message object`);
  if (value.jsonrpc !== '2.0') throw invalid(`${at}.jsonrpc must be "2.0"`);
  if ('method' in value) {
    unknownMembers(value, REQUEST_KEYS, at);
    const method = value.method;
    if (typeof method !== 'string' || method.length === 0) throw invalid(`${at}.method must be a non-empty string`);
    const params = value.params;
    if (params !== undefined && !isJsonObject(params)) throw invalid(`${at}.params must be an object`);
    if (!('id' in value)) return { kind: 'notification', method, params };
    return { kind: 'request', id: readId(value.id, at), method, params };
  }
  if ('result' in value) {
    unknownMembers(value, RESULT_KEYS, at);
    if (!isJsonObject(value.result)) throw invalid(`${at}.result must be an object`);
    return { kind: 'response', id: readId(value.id, at) };
  }
  if ('error' in value) {
    unknownMembers(value, ERROR_KEYS, at);
    const error = value.error;
    if (!isJsonObject(error)) throw invalid(`${at}.error must be an object`);
    unknownMembers(error, ERROR_OBJECT_KEYS, `${at}.error`);
    if (!Number.isInteger(error.code)) throw invalid(`${at}.error.code must be an integer`);
    if (typeof error.message !== 'string') throw invalid(`${at}.error.message must be a string`);
    return { kind: 'response', id: readId(value.id, at) };
  }
  throw invalid(`${at} has neither method, result nor error`);
}

function readId(id: JsonValue | undefined, at: string): JsonRpcId {
  if (typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id))) return id;
  throw invalid(`${at}.id must be a string or an integer`);
}

function unknownMembers(object: JsonObject, allowed: ReadonlySet<string>, at: string): void {
  for (const key of Object.keys(object)) {
    if (!allowed.has(key)) throw invalid(`${at} has a member JSON-RPC does not define here: ${JSON.stringify(key.slice(0, 40))}`);
  }
}
