import { approvalBytes } from '../../../src/mcp/approval-bytes';
import { parseStrictJson, type JsonObject } from '../../../src/mcp/strict-json';

const params = (text: string): JsonObject => parseStrictJson(Buffer.from(text)) as JsonObject;
const bytes = (text: string): string => Buffer.from(approvalBytes(params(text))).toString('utf8');

describe('approvalBytes: what an approval of a tools/call binds', () => {
  it('is the params in canonical JSON: keys sorted at every depth, no whitespace, numbers and strings as JSON.stringify writes them', () => {
    expect(bytes('{ "name": "read_note", "arguments": { "path": "/payroll/q3", "lines": 1.0, "a": [ {"z":1,"b":"\\u0041"} ] } }')).toBe(
      '{"arguments":{"a":[{"b":"A","z":1}],"lines":1,"path":"/payroll/q3"},"name":"read_note"}',
    );
  });

  it('is the same for two spellings a server reads alike, and differs for any changed argument', () => {
    const one = bytes('{"name":"read_note","arguments":{"path":"/payroll/q3","n":2}}');
    expect(bytes('{"arguments":{"n":2e0,"path":"/payroll/q3"},"name":"read_note"}')).toBe(one);
    expect(bytes('{"name":"read_note","arguments":{"path":"/payroll/q4","n":2}}')).not.toBe(one);
    expect(bytes('{"name":"read_note","arguments":{"path":"/payroll/q3","n":2,"extra":null}}')).not.toBe(one);
    expect(bytes('{"name":"write_note","arguments":{"path":"/payroll/q3","n":2}}')).not.toBe(one);
  });

  it("leaves out _meta.progressToken (the SDK sets it to the request's id, new on every retry) but keeps every other _meta member", () => {
    const plain = bytes('{"name":"t","arguments":{}}');
    expect(bytes('{"name":"t","arguments":{},"_meta":{"progressToken":7}}')).toBe(plain);
    expect(bytes('{"name":"t","arguments":{},"_meta":{"progressToken":"x","trace":"a"}}')).toBe('{"_meta":{"trace":"a"},"arguments":{},"name":"t"}');
    expect(bytes('{"name":"t","arguments":{},"_meta":{"trace":"b"}}')).not.toBe(bytes('{"name":"t","arguments":{},"_meta":{"trace":"a"}}'));
  });
});
