import { parseMcpBody } from '../../../src/mcp/mcp-body';
import { decodeHeaderValue, encodeHeaderValue, mirroredHeaderMismatch, mirroredHeadersFor } from '../../../src/mcp/mirrored-headers';

const body = (value: unknown) => parseMcpBody(new TextEncoder().encode(JSON.stringify(value)), '2025-03-26');
const call = (name: string) => body({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} } });

describe('mirrored headers (Mcp-Method, Mcp-Name)', () => {
  it('agree with the body, plain or Base64-encoded', () => {
    expect(mirroredHeaderMismatch({}, call('read_file'))).toBeUndefined();
    expect(mirroredHeaderMismatch({ 'mcp-method': 'tools/call', 'mcp-name': 'read_file' }, call('read_file'))).toBeUndefined();
    expect(mirroredHeaderMismatch({ 'mcp-name': encodeHeaderValue('lire le fichier é') }, call('lire le fichier é'))).toBeUndefined();
  });

  it('are refused when they name another method or tool, or describe a batch', () => {
    expect(mirroredHeaderMismatch({ 'mcp-name': 'read_file' }, call('delete_all'))).toContain('Mcp-Name');
    expect(mirroredHeaderMismatch({ 'mcp-method': 'tools/list' }, call('read_file'))).toContain('Mcp-Method');
    expect(mirroredHeaderMismatch({ 'mcp-name': '=?base64?cmVhZF9maWxl?=' }, call('delete_all'))).toContain('Mcp-Name');
    expect(mirroredHeaderMismatch({ 'mcp-name': 'read_file, delete_all' }, call('read_file'))).toContain('Mcp-Name');
    expect(mirroredHeaderMismatch({ 'mcp-method': 'tools/call' }, body([{ jsonrpc: '2.0', id: 1, method: 'ping' }]))).toContain('batch');
  });

  it('are written upstream by the gateway from the decided body', () => {
    expect(mirroredHeadersFor(call('read_file'))).toEqual({ 'mcp-method': 'tools/call', 'mcp-name': 'read_file' });
    expect(mirroredHeadersFor(body({ jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'file:///é' } }))).toEqual({
      'mcp-method': 'resources/read',
      'mcp-name': '=?base64?ZmlsZTovLy/DqQ==?=',
    });
    expect(mirroredHeadersFor(body({ jsonrpc: '2.0', id: 1, result: {} }))).toEqual({});
  });

  it('encode what is not plain visible ASCII, and anything that looks like the sentinel', () => {
    expect(encodeHeaderValue('us-west1')).toBe('us-west1');
    expect(encodeHeaderValue(' padded ')).toBe('=?base64?IHBhZGRlZCA=?=');
    expect(encodeHeaderValue('=?base64?literal?=')).toBe('=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=');
    expect(decodeHeaderValue('=?base64?//79?=')).toBeUndefined();
    expect(decodeHeaderValue(['a', 'b'])).toBeUndefined();
  });
});
