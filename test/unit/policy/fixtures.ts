import type { AuthorizationRequest, CedarValue, Principal } from '../../../src/policy';

/** An Agent principal shaped as the identity mapper builds it (docs/policies.md, "The model"). */
export function agent(id: string, groups: string[] = [], attributes: Record<string, CedarValue> = {}): Principal {
  const spiffeId = `spiffe://example.org/agents/${id}`;
  return { type: 'Agent', id, attrs: { ...attributes, attributes, spiffeId, trustDomain: 'example.org' }, groups };
}

export function workload(path: string): Principal {
  const spiffeId = `spiffe://example.org${path}`;
  return { type: 'Workload', id: spiffeId, attrs: { spiffeId, trustDomain: 'example.org', path }, groups: [] };
}

export function peerOf(principal: Principal, authn: 'x509-svid' | 'jwt-svid' = 'x509-svid'): Record<string, CedarValue> {
  return { spiffeId: principal.attrs['spiffeId'] as string, trustDomain: 'example.org', authn };
}

/** A request with the gateway's context: `peer` and `metadata`. */
export function request(
  principal: Principal,
  action: string,
  options: { resource?: string; metadata?: Record<string, string>; authn?: 'x509-svid' | 'jwt-svid' } = {},
): AuthorizationRequest {
  return {
    principal,
    action,
    resource: options.resource ?? 'files',
    context: { peer: peerOf(principal, options.authn), metadata: options.metadata ?? {} },
  };
}

export const READ = 'tools.files.v1.Files/ReadFile';
export const LIST = 'tools.files.v1.Files/ListDir';
export const WRITE = 'tools.files.v1.Files/WriteFile';
export const SYNC = 'tools.files.v1.Files/Sync';
