import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as toolgate from '../../src/index';

/** The `toolgate` entry point: what package.json exports as ".", so that a lost re-export fails here. */
describe('toolgate public API', () => {
  it('is what package.json exports as "."', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> };
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    // The compiled entry exists once built (npm ci builds, through `prepare`).
    if (existsSync(join(__dirname, '../../dist'))) expect(existsSync(join(__dirname, '../../dist/index.js'))).toBe(true);
  });

  it('exports the gateway, the task client for agents and the call-token verifier for tools', () => {
    expect(typeof toolgate.Gateway.start).toBe('function');
    expect(typeof toolgate.loadConfig).toBe('function');
    expect(typeof toolgate.TasksClient).toBe('function');
    expect(toolgate.TasksClient.service.BeginTask?.path).toBe('/toolgate.v1.Tasks/BeginTask');
    expect(toolgate.taskMetadata('t').get(toolgate.TASK_HEADER)).toEqual(['t']);
    expect(toolgate.ON_BEHALF_OF_HEADER).toBe('x-toolgate-on-behalf-of');
    expect(typeof toolgate.createCallTokenVerifier).toBe('function');
    expect(typeof toolgate.requireCallTokens).toBe('function');
    expect(toolgate.CALL_TOKEN_TYPE).toBe('toolgate-call+jwt');
    expect(toolgate.JWKS_PATH).toBe('/.well-known/jwks.json');
    expect(new toolgate.TaskError('ERR_TASK_ENDED', 'x').code).toBe('ERR_TASK_ENDED');
  });

  it('exports what an agent and an approver need for escalated calls (docs/approvals.md)', () => {
    expect(toolgate.ApprovalsClient.service.Approve?.path).toBe('/toolgate.v1.Approvals/Approve');
    expect(toolgate.approvalMetadata('ap_x').get(toolgate.APPROVAL_HEADER)).toEqual(['ap_x']);
    expect(toolgate.STATUS_DETAILS_HEADER).toBe('grpc-status-details-bin');
    expect(typeof toolgate.errorInfoOf).toBe('function');
    expect(new toolgate.ApprovalError('ERR_APPROVAL_LIMIT', 'x')).toBeInstanceOf(toolgate.ToolgateError);
  });

  it('exports the base of its errors and the error of loadConfig', () => {
    expect(() => toolgate.loadConfig('/nonexistent/toolgate.yaml')).toThrow(toolgate.ConfigError);
    expect(new toolgate.ConfigError('f', [])).toBeInstanceOf(toolgate.ToolgateError);
    expect(new toolgate.TaskError('ERR_TASK_ENDED', 'x')).toBeInstanceOf(toolgate.ToolgateError);
    expect(new toolgate.CallTokenError('x')).toBeInstanceOf(toolgate.ToolgateError);
  });
});
