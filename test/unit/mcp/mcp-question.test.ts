import type { ClientMessage } from '../../../src/mcp/json-rpc-message';
import { McpMessageError } from '../../../src/mcp/mcp-message-error';
import { JSONRPC_INVALID_PARAMS, JSONRPC_METHOD_NOT_FOUND, questionFor } from '../../../src/mcp/mcp-question';

const request = (method: string, params?: object): ClientMessage => ({ kind: 'request', id: 1, method, params: params as never });
const notification = (method: string): ClientMessage => ({ kind: 'notification', method, params: undefined });

describe('questionFor: the authorization question of each MCP message', () => {
  it('asks about each tool as its own action, with its arguments as context.request', () => {
    expect(
      questionFor(
        'files',
        request('tools/call', { name: 'read_file', arguments: { path: '/a', depth: 2, ratio: 0.5, tags: ['x', null], opt: null }, _meta: { progressToken: 1 } }),
      ),
    ).toEqual({
      kind: 'policy',
      method: 'tools/call',
      action: 'mcp:files/tools/call/read_file',
      resource: 'files',
      // A fraction and null have no Cedar type: left out, as floats are for gRPC.
      request: { path: '/a', depth: 2, tags: ['x'] },
      name: 'read_file',
    });
    expect(questionFor('files', request('tools/call', { name: 'ping_all' }))).toMatchObject({ action: 'mcp:files/tools/call/ping_all', request: {} });
  });

  it('asks about prompts by name with their arguments, and resources with their URI', () => {
    expect(questionFor('files', request('prompts/get', { name: 'summarize', arguments: { path: '/a' } }))).toMatchObject({
      action: 'mcp:files/prompts/get/summarize',
      request: { path: '/a' },
      name: 'summarize',
    });
    expect(questionFor('files', request('resources/read', { uri: 'file:///a', _meta: {} }))).toMatchObject({ action: 'mcp:files/resources/read', request: { uri: 'file:///a' } });
    expect(questionFor('files', request('resources/subscribe', { uri: 'file:///a' }))).toMatchObject({ action: 'mcp:files/resources/subscribe' });
  });

  it('asks about the other methods MCP defines by name, with their params less _meta', () => {
    for (const method of ['tools/list', 'resources/list', 'resources/templates/list', 'prompts/list', 'completion/complete', 'logging/setLevel', 'tasks/get']) {
      expect(questionFor('files', request(method, { cursor: 'c', _meta: { x: 1 } }))).toMatchObject({ kind: 'policy', action: `mcp:files/${method}`, request: { cursor: 'c' } });
    }
  });

  it('lets protocol plumbing through without a policy per method', () => {
    for (const message of [
      request('initialize', {}),
      request('ping'),
      notification('notifications/initialized'),
      notification('notifications/cancelled'),
      notification('notifications/progress'),
      notification('notifications/roots/list_changed'),
      { kind: 'response', id: 3 } as ClientMessage,
    ]) {
      expect(questionFor('files', message).kind).toBe('plumbing');
    }
  });

  it('refuses unknown methods and params a method cannot have', () => {
    expect(questionFor('files', request('admin/shutdown'))).toMatchObject({ kind: 'refused', code: JSONRPC_METHOD_NOT_FOUND });
    expect(questionFor('files', notification('notifications/message'))).toMatchObject({ kind: 'refused', code: JSONRPC_METHOD_NOT_FOUND });
    expect(questionFor('files', request('tools/call', {}))).toMatchObject({ kind: 'refused', code: JSONRPC_INVALID_PARAMS });
    expect(questionFor('files', request('tools/call', { name: 'x', arguments: [1] }))).toMatchObject({ kind: 'refused', code: JSONRPC_INVALID_PARAMS });
    expect(questionFor('files', request('resources/read', { uri: 7 }))).toMatchObject({ kind: 'refused', code: JSONRPC_INVALID_PARAMS });
  });

  it('refuses a tool or prompt name with a "/", whose action would fall outside its group', () => {
    for (const name of ['admin/reset', 'admin/', '/admin', 'a//b']) {
      expect(questionFor('files', request('tools/call', { name }))).toMatchObject({ kind: 'refused', code: JSONRPC_INVALID_PARAMS, message: expect.stringContaining('"/"') });
      expect(questionFor('files', request('prompts/get', { name }))).toMatchObject({ kind: 'refused', code: JSONRPC_INVALID_PARAMS });
    }
    // Other characters stay in the one segment: they cannot change the group.
    expect(questionFor('files', request('tools/call', { name: 'a.b:c\\d é' }))).toMatchObject({ kind: 'policy', action: 'mcp:files/tools/call/a.b:c\\d é' });
  });

  it('refuses an argument spelled as a Cedar entity or extension escape', () => {
    expect(() => questionFor('files', request('tools/call', { name: 'x', arguments: { who: { __entity: { type: 'Agent', id: 'admin' } } } }))).toThrow(McpMessageError);
  });
});
